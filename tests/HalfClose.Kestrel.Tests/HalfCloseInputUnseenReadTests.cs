using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using HalfClose.Kestrel.Internal;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// A read that waits for a request's head is the transport's own (the reader awaits the pipe's source, with nothing of
/// the wrapper's between): the end it brings is not hidden, and is settled as that read's once the reader advances past
/// it, or by the close where the reader examined part of a head. Over an in-memory pipe: the reader's contract, not TCP.
/// </summary>
public sealed class HalfCloseInputUnseenReadTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    private readonly Pipe _pipe = new(new PipeOptions(useSynchronizationContext: false));
    private readonly HeardEnds _listener = new() { WaitsForRequestHead = true };

    [Fact]
    public async Task WaitingForAHead_PendingRead_IsTheTransportsOwn_TheFinAloneIsSettledAsTheReaderAdvances()
    {
        var input = new HalfCloseInput(_pipe.Reader, _listener);
#pragma warning disable CA2012 // Looked at here, awaited once below.
        var pending = input.ReadAsync();
        Assert.False(pending.IsCompleted);
        Assert.Same(_pipe.Reader, PendingRead.SourceOf(pending, known: null, out _));
#pragma warning restore CA2012

        await _pipe.Writer.CompleteAsync();
        var read = await pending.AsTask().WaitAsync(Bound);
        Assert.True(read.IsCompleted);
        Assert.True(read.Buffer.IsEmpty);
        Assert.Empty(_listener.All);

        input.AdvanceTo(read.Buffer.End);

        Assert.Equal((InputEnd.ClientFin, InputRemainder.None, true), Assert.Single(_listener.All));
    }

    [Fact]
    public async Task HeadAndFinInOneResult_TheReaderSeesBoth_SettledAsAWholeHeadLeft()
    {
        var input = new HalfCloseInput(_pipe.Reader, _listener);

        var read = await PendingReadThenFinAsync(input, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.True(read.IsCompleted);
        Assert.Equal(27, read.Buffer.Length);

        // Kestrel consumed the whole head, and examined no further.
        input.AdvanceTo(read.Buffer.End, read.Buffer.End);

        // As the wrapper's own read would have settled it: the end came with a whole head the reader had not yet taken.
        Assert.Equal((InputEnd.ClientFin, InputRemainder.Headers, true), Assert.Single(_listener.All));
    }

    [Fact]
    public async Task PartOfAHeadThenFin_TheReaderExaminedBeyond_TheCloseLooksAndSettlesIt()
    {
        var input = new HalfCloseInput(_pipe.Reader, _listener, keepInnerOpen: true);
        var read = await PendingReadThenFinAsync(input, "GET / HT");

        // Kestrel parsed part of a request line: it consumed nothing and examined everything (and answers 400).
        input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        Assert.Empty(_listener.All);

        input.LookBeforeClose();

        Assert.Equal((InputEnd.ClientFin, InputRemainder.Partial, true), Assert.Single(_listener.All));

        // The look leaves the bytes where they were, for the close's own read.
        Assert.True(_pipe.Reader.TryRead(out var left));
        Assert.Equal(8, left.Buffer.Length);
    }

    [Fact]
    public async Task PartOfAHeadThenFin_TheReaderCompletes_TheEndIsLookedForFirst()
    {
        var input = new HalfCloseInput(_pipe.Reader, _listener);
        var read = await PendingReadThenFinAsync(input, "GET / HT");
        input.AdvanceTo(read.Buffer.Start, read.Buffer.End);

        await input.CompleteAsync();

        Assert.Equal((InputEnd.ClientFin, InputRemainder.Partial, true), Assert.Single(_listener.All));
        Assert.True(input.IsReaderDone);
    }

    [Fact]
    public async Task UnseenReadFailsWithAReset_TheReaderGetsTheError_TheCloseSettlesTheReset()
    {
        var input = new HalfCloseInput(_pipe.Reader, _listener, keepInnerOpen: true);
        var pending = input.ReadAsync();
        await _pipe.Writer.CompleteAsync(new ConnectionResetException("reset by peer"));

        await Assert.ThrowsAsync<ConnectionResetException>(() => pending.AsTask().WaitAsync(Bound));
        Assert.Empty(_listener.All);

        input.LookBeforeClose();

        Assert.Equal(InputEnd.Reset, Assert.Single(_listener.All).End);
        Assert.Equal(InputEnd.Reset, input.End);
    }

    [Fact]
    public async Task TwoHeadsInOneResult_TheLookAfterTheFirst_LeavesTheSecondForTheNextRead()
    {
        var input = new HalfCloseInput(_pipe.Reader, _listener);
        var pending = input.ReadAsync();
        await _pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"));
        var read = await pending.AsTask().WaitAsync(Bound);

        var first = read.Buffer.GetPosition(19);
        input.AdvanceTo(first, first);

        // The second head is there at once: the look after the first left it unexamined, as the reader did.
        var next = await input.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.Equal("GET /2 HTTP/1.1\r\n\r\n", Encoding.ASCII.GetString(next.Buffer));
        Assert.False(next.IsCompleted);
        input.AdvanceTo(next.Buffer.End);
        Assert.Empty(_listener.All);
    }

    [Fact]
    public async Task HeadTaken_IsToldForAWholeHeadFromAnUnseenRead_NotForPartOfOne()
    {
        var input = new HalfCloseInput(_pipe.Reader, _listener);
        var pending = input.ReadAsync().AsTask();
        await _pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("GET /1 HT"));
        var read = await pending.WaitAsync(Bound);

        // Part of a request line: nothing consumed, all of it examined.
        input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        Assert.Equal(0, _listener.HeadsTaken);

        pending = input.ReadAsync().AsTask();
        await _pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("TP/1.1\r\n\r\n"));
        read = await pending.WaitAsync(Bound);
        input.AdvanceTo(read.Buffer.End, read.Buffer.End);
        Assert.Equal(1, _listener.HeadsTaken);

        // An empty result (nothing taken) tells nothing either.
        pending = input.ReadAsync().AsTask();
        input.CancelPendingRead();
        read = await pending.WaitAsync(Bound);
        input.AdvanceTo(read.Buffer.End);
        Assert.Equal(1, _listener.HeadsTaken);
    }

    [Fact]
    public async Task HeadTaken_IsToldForAWholeHeadFromAReadThatFoundItThere_NotForPartOfOne()
    {
        // The request came before the reader asked (a connection's first request, most often): its read completes at once.
        var input = new HalfCloseInput(_pipe.Reader, _listener);
        await _pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("GET /1 HT"));
        var read = await input.ReadAsync();

        input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        Assert.Equal(0, _listener.HeadsTaken);

        await _pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("TP/1.1\r\n\r\n"));
        read = await input.ReadAsync();
        Assert.Equal(19, read.Buffer.Length);
        input.AdvanceTo(read.Buffer.End);
        Assert.Equal(1, _listener.HeadsTaken);
    }

    [Fact]
    public async Task BodyMayBeRead_TheReadIsTheWrappers_TheEndStaysHiddenUntilTheBytesBeforeItAreExamined()
    {
        _listener.WaitsForRequestHead = false;
        var input = new HalfCloseInput(_pipe.Reader, _listener);
#pragma warning disable CA2012 // Looked at here, awaited once below.
        var pending = input.ReadAsync();
        Assert.Same(input, PendingRead.SourceOf(pending, known: null, out _));
#pragma warning restore CA2012
        await _pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("hello"));
        await _pipe.Writer.CompleteAsync();

        var read = await pending.AsTask().WaitAsync(Bound);

        // Kestrel's body reader would take a completed read for a truncated body: the end waits for the next read.
        Assert.False(read.IsCompleted);
        input.AdvanceTo(read.Buffer.End);
        Assert.True((await input.ReadAsync()).IsCompleted);
        Assert.Equal((InputEnd.ClientFin, InputRemainder.Partial, true), Assert.Single(_listener.All));
    }

    /// <summary>A read issued first, then <paramref name="text"/> and the client's FIN, both in the read's one result.</summary>
    private async Task<ReadResult> PendingReadThenFinAsync(HalfCloseInput input, string text)
    {
        var pending = input.ReadAsync();
        _pipe.Writer.Write(Encoding.ASCII.GetBytes(text));
        await _pipe.Writer.CompleteAsync();
        return await pending.AsTask().WaitAsync(Bound);
    }
}
