using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using HalfClose.Kestrel.Internal;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// The input wrapper on its own (over an in-memory pipe: this is about the reader's contract, not TCP):
/// the end is reported only once every byte before it has been examined.
/// </summary>
public sealed class HalfCloseInputTests
{
    private static async Task<(Pipe Pipe, HalfCloseInput Input)> CompletedPipeAsync(string data)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes(data));
        await pipe.Writer.CompleteAsync();
        return (pipe, new HalfCloseInput(pipe.Reader));
    }

    [Fact]
    public async Task DataBeforeFin_NotAllExamined_EndHidden()
    {
        var (_, input) = await CompletedPipeAsync("abcdef");

        var first = await input.ReadAsync();
        Assert.False(first.IsCompleted);
        Assert.Equal(6, first.Buffer.Length);
        input.AdvanceTo(first.Buffer.GetPosition(3));

        var second = await input.ReadAsync();
        Assert.False(second.IsCompleted);
        Assert.Equal("def", Encoding.ASCII.GetString(second.Buffer.ToArray()));
        input.AdvanceTo(second.Buffer.End);

        var third = await input.ReadAsync();
        Assert.True(third.IsCompleted);
        Assert.True(third.Buffer.IsEmpty);
    }

    [Fact]
    public async Task PartialMessage_ExaminedToTheEnd_EndRevealedWithTheBytes()
    {
        var (_, input) = await CompletedPipeAsync("GET / HTTP/1.1\r\nHo");

        var first = await input.ReadAsync();
        Assert.False(first.IsCompleted);
        input.AdvanceTo(first.Buffer.Start, first.Buffer.End);

        var second = await input.ReadAsync();
        Assert.True(second.IsCompleted);
        Assert.Equal(first.Buffer.Length, second.Buffer.Length);
        input.AdvanceTo(second.Buffer.Start, second.Buffer.End);

        Assert.True(input.TryRead(out var third));
        Assert.True(third.IsCompleted);
    }

    [Fact]
    public async Task NotCompleted_PassesThrough()
    {
        var pipe = new Pipe();
        var input = new HalfCloseInput(pipe.Reader);
        await pipe.Writer.WriteAsync("abc"u8.ToArray());

        var read = await input.ReadAsync();
        Assert.False(read.IsCompleted);
        input.AdvanceTo(read.Buffer.End);

        var pending = input.ReadAsync();
        Assert.False(pending.IsCompleted);
        await pipe.Writer.CompleteAsync();
        var end = await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(end.IsCompleted);
        Assert.True(end.Buffer.IsEmpty);
    }

    [Fact]
    public async Task CompletedWithError_Throws()
    {
        var pipe = new Pipe();
        var input = new HalfCloseInput(pipe.Reader);
        await pipe.Writer.WriteAsync("abc"u8.ToArray());
        await pipe.Writer.CompleteAsync(new IOException("reset"));

        await Assert.ThrowsAsync<IOException>(async () => await input.ReadAsync());
    }

    [Fact]
    public async Task CancelPendingRead_Forwarded()
    {
        var pipe = new Pipe();
        var input = new HalfCloseInput(pipe.Reader);

        var pending = input.ReadAsync();
        input.CancelPendingRead();
        var read = await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(read.IsCanceled);
    }

    [Fact]
    public async Task HoldsNothingUnread_OnlyWhenAllShownWasConsumedAndNothingMoreCame()
    {
        var pipe = new Pipe();
        var input = new HalfCloseInput(pipe.Reader, keepInnerOpen: true);
        await pipe.Writer.WriteAsync("GET /a\n"u8.ToArray());

        var read = await input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(input.HoldsNothingUnread());
        input.AdvanceTo(read.Buffer.GetPosition(3));
        Assert.False(input.HoldsNothingUnread());

        read = await input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        input.AdvanceTo(read.Buffer.End);
        Assert.True(input.HoldsNothingUnread());

        // More arrives in the transport's input: not unread by the reader yet, but unread; the look consumes none of it.
        await pipe.Writer.WriteAsync("GET /b\n"u8.ToArray());
        Assert.False(input.HoldsNothingUnread());
        read = await input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("GET /b\n", Encoding.ASCII.GetString(read.Buffer.ToArray()));
        input.AdvanceTo(read.Buffer.End);

        // The reader completed: the transport's input stays open under the send path, and is looked at the same way.
        input.Complete();
        Assert.True(input.HoldsNothingUnread());
        await pipe.Writer.WriteAsync("x"u8.ToArray());
        Assert.False(input.HoldsNothingUnread());
    }

    [Fact]
    public async Task HoldsNothingUnread_FalseWhileTheReaderReads_AndItsReadUnharmed()
    {
        var pipe = new Pipe();
        var input = new HalfCloseInput(pipe.Reader, keepInnerOpen: true);

        var pending = input.ReadAsync();
        Assert.False(input.HoldsNothingUnread());

        await pipe.Writer.WriteAsync("abc"u8.ToArray());
        var read = await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(3, read.Buffer.Length);
        input.AdvanceTo(read.Buffer.End);
        Assert.True(input.HoldsNothingUnread());
    }
}
