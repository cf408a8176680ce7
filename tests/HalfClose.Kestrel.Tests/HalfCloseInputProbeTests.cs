using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Threading.Tasks.Sources;
using HalfClose.Kestrel.Internal;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// Settling the input's end without the application's reader (over an in-memory pipe: the reader's contract, not TCP):
/// a probe reads only while the reader is idle, leaves the end to a read in progress, and above TLS reads ahead for it.
/// </summary>
public sealed class HalfCloseInputProbeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    private readonly Pipe _pipe = new(new PipeOptions(useSynchronizationContext: false));
    private readonly HeardEnds _ends = new();

    [Fact]
    public async Task ReaderIdle_FinInThePipe_ProbeSettlesIt_ReaderStillGetsEveryByteThenTheEnd()
    {
        var input = new HalfCloseInput(_pipe.Reader, _ends);
        await _pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n\r\n"));
        await _pipe.Writer.CompleteAsync();

        input.Probe();

        Assert.Equal((InputEnd.ClientFin, InputRemainder.Headers), _ends.Single());
        var read = await input.ReadAsync();
        Assert.Equal(18, read.Buffer.Length);
        Assert.False(read.IsCompleted);
        input.AdvanceTo(read.Buffer.End);
        Assert.True((await input.ReadAsync()).IsCompleted);
        Assert.Single(_ends.All);
    }

    [Fact]
    public async Task HandedOverToTheClose_ProbeLeavesTheInputToIt()
    {
        // Kestrel need not complete its reader before the close: a lingering close reads the transport's input, and the
        // client's FIN (the transport's close) must not start a probe's read beside it. A probe's read between two of the
        // close's made the close's next read fail ("Reading is already in progress"), and the linger end in a reset.
        var input = new HalfCloseInput(_pipe.Reader, _ends, keepInnerOpen: true);
        await _pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("GET /unread HTTP/1.1\r\n\r\n"));
        input.HandOverToClose();
        Assert.True(input.IsReaderDone);

        var drained = await _pipe.Reader.ReadAsync().AsTask().WaitAsync(Bound);
        _pipe.Reader.AdvanceTo(drained.Buffer.End);
        await _pipe.Writer.CompleteAsync();
        input.Probe();
        var last = await _pipe.Reader.ReadAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(24, drained.Buffer.Length);
        Assert.True(last.IsCompleted);
        Assert.Empty(_ends.All);
        Assert.Equal(InputEnd.None, input.End);
    }

    [Fact]
    public async Task ReaderIdle_Reset_ProbeSettlesItAsAReset()
    {
        var input = new HalfCloseInput(_pipe.Reader, _ends);
        await _pipe.Writer.CompleteAsync(new ConnectionResetException("reset by peer"));

        input.Probe();

        Assert.Equal(InputEnd.Reset, _ends.Single().End);
        await Assert.ThrowsAsync<ConnectionResetException>(async () => await input.ReadAsync());
    }

    [Fact]
    public async Task ServerAborted_ProbeSettlesItAsTheServersClose()
    {
        var input = new HalfCloseInput(_pipe.Reader, _ends);
        await _pipe.Writer.CompleteAsync(new ConnectionAbortedException("aborted"));

        input.Probe();

        Assert.Equal(InputEnd.ServerClosed, _ends.Single().End);
    }

    [Fact]
    public async Task ReaderHoldsABuffer_ProbeWaits_SettledWhenTheReaderAdvances()
    {
        var input = new HalfCloseInput(_pipe.Reader, _ends);
        await _pipe.Writer.WriteAsync(new byte[10]);
        var held = await input.ReadAsync();
        await _pipe.Writer.CompleteAsync();

        input.Probe();
        Assert.Empty(_ends.All);
        input.AdvanceTo(held.Buffer.Start, held.Buffer.End);

        Assert.Equal((InputEnd.ClientFin, InputRemainder.Partial), _ends.Single());
    }

    [Fact]
    public async Task ReadPending_ProbeLeavesTheEndToTheRead()
    {
        var input = new HalfCloseInput(_pipe.Reader, _ends);
        var pending = input.ReadAsync();

        input.Probe();
        Assert.Empty(_ends.All);
        await _pipe.Writer.CompleteAsync();
        var read = await pending.AsTask().WaitAsync(Bound);

        Assert.True(read.IsCompleted);
        Assert.Equal((InputEnd.ClientFin, InputRemainder.None, true), _ends.SingleWithWaiting());
    }

    [Fact]
    public async Task PendingRead_OnThisRuntime_HandedThroughToThePipe()
    {
        // The read Kestrel awaits goes to the transport's pipe as it is; were the runtime's ValueTask laid out otherwise,
        // every pending read would be awaited by a state machine of the input's instead (still correct, as below).
#pragma warning disable CA2012 // Looked at, never awaited: the pipe's read is cancelled and consumed below.
        var read = _pipe.Reader.ReadAsync();
        Assert.Same(_pipe.Reader, PendingRead.SourceOf(read, known: null, out _));

        // The source of the reader's last read is taken as it is; another one given is only a hint, never the answer.
        Assert.Same(_pipe.Reader, PendingRead.SourceOf(read, known: (IValueTaskSource<ReadResult>)_pipe.Reader, out _));
        Assert.Same(_pipe.Reader, PendingRead.SourceOf(read, known: (IValueTaskSource<ReadResult>)new Pipe().Reader, out _));
#pragma warning restore CA2012
        _pipe.Reader.CancelPendingRead();
        Assert.True((await read).IsCanceled);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReadPending_BytesThenFin_ReaderGetsTheBytesThenTheEnd_SettledAsWaiting(bool transportReadIsATask)
    {
        // Handed through to the pipe's own source; or, where the transport's read is a task, awaited: the same outcome.
        var input = new HalfCloseInput(transportReadIsATask ? new TaskReader(_pipe.Reader) : _pipe.Reader, _ends);
        var pending = input.ReadAsync();
        Assert.False(pending.IsCompleted);

        // The bytes and the end in one go (completing flushes), as a FIN right behind the data.
        _pipe.Writer.Write(Encoding.ASCII.GetBytes("abc"));
        await _pipe.Writer.CompleteAsync();
        var read = await pending.AsTask().WaitAsync(Bound);

        Assert.False(read.IsCompleted);
        Assert.Equal("abc", Encoding.ASCII.GetString(read.Buffer.ToArray()));
        Assert.Equal((InputEnd.ClientFin, InputRemainder.Partial, true), _ends.SingleWithWaiting());
        input.AdvanceTo(read.Buffer.End);
        Assert.True((await input.ReadAsync()).IsCompleted);
    }

    [Fact]
    public async Task ReadPending_Reset_ReadThrows_SettledAsAReset()
    {
        var input = new HalfCloseInput(_pipe.Reader, _ends);
        var pending = input.ReadAsync();

        await _pipe.Writer.CompleteAsync(new ConnectionResetException("reset by peer"));

        await Assert.ThrowsAsync<ConnectionResetException>(async () => await pending.AsTask().WaitAsync(Bound));
        Assert.Equal((InputEnd.Reset, InputRemainder.None, true), _ends.SingleWithWaiting());
    }

    [Fact]
    public async Task NothingYet_NoReadAhead_ProbeFindsNothing_LaterReadSettles()
    {
        var input = new HalfCloseInput(_pipe.Reader, _ends);

        input.Probe();
        Assert.Empty(_ends.All);
        await _pipe.Writer.CompleteAsync();

        Assert.True((await input.ReadAsync()).IsCompleted);
        Assert.Single(_ends.All);
    }

    [Fact]
    public async Task ReadAhead_NothingYet_TheEndArrives_SettledWithoutTheReader()
    {
        var input = new HalfCloseInput(_pipe.Reader, _ends, readAhead: true);

        input.Probe();
        Assert.Empty(_ends.All);
        await _pipe.Writer.CompleteAsync();

        await _ends.Settled.WaitAsync(Bound);
        Assert.Equal(InputEnd.ClientFin, _ends.Single().End);
        Assert.True((await input.ReadAsync().AsTask().WaitAsync(Bound)).IsCompleted);
    }

    [Fact]
    public async Task ReadAhead_TheReaderReadsMeanwhile_JoinsIt_GetsTheBytes()
    {
        var input = new HalfCloseInput(_pipe.Reader, _ends, readAhead: true);

        input.Probe();
        var joined = input.ReadAsync();
        Assert.False(joined.IsCompleted);
        await _pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("abc"));
        var read = await joined.AsTask().WaitAsync(Bound);

        Assert.Equal("abc", Encoding.ASCII.GetString(read.Buffer.FirstSpan));
        input.AdvanceTo(read.Buffer.End);
        await _pipe.Writer.CompleteAsync();
        Assert.True((await input.ReadAsync().AsTask().WaitAsync(Bound)).IsCompleted);
        Assert.Equal(InputEnd.ClientFin, _ends.Single().End);
    }

    [Fact]
    public async Task ReadAhead_BytesArriveUnjoined_LeftForTheReader()
    {
        var input = new HalfCloseInput(_pipe.Reader, _ends, readAhead: true);

        input.Probe();
        await _pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("abc"));
        var read = await ReadWhenReadyAsync(input);

        Assert.Equal("abc", Encoding.ASCII.GetString(read.Buffer.FirstSpan));
        Assert.Empty(_ends.All);
    }

    [Fact]
    public async Task ReadAhead_ReaderCompletes_InputCompletedWhenTheReadAheadReturns()
    {
        var input = new HalfCloseInput(_pipe.Reader, _ends, readAhead: true);
        input.Probe();

        await input.CompleteAsync();

        // More than the pipe holds before it pauses its writer: the flush waits for the reader, and ends once the
        // read-ahead has returned (cancelled) and completed the input for the reader that is gone.
        var flush = await _pipe.Writer.WriteAsync(new byte[128 * 1024]).AsTask().WaitAsync(Bound);

        Assert.True(flush.IsCompleted);
    }

    /// <summary>The read-ahead's result comes back on the thread pool; the reader's read waits for it rather than spin on state.</summary>
    private static async Task<ReadResult> ReadWhenReadyAsync(HalfCloseInput input) => await input.ReadAsync().AsTask().WaitAsync(Bound);

    /// <summary>A transport whose reads complete through a task, not a value-task source (a reader written as an async method returning a task).</summary>
    private sealed class TaskReader(PipeReader inner) : PipeReader
    {
        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
            new(inner.ReadAsync(cancellationToken).AsTask());

        public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }
}
