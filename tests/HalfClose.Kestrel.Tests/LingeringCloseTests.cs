using System.IO.Pipelines;
using HalfClose.Kestrel.Internal;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Time.Testing;

namespace HalfClose.Kestrel.Tests;

/// <summary>The lingering close's bounds on a fake clock: LingerTimeout between reads, LingerTime in all, LingerMaxBytes.</summary>
public sealed class LingeringCloseTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new();
    // The drain runs inline when bytes or a timeout reach it: once a write or an Advance returns, the drain has taken it.
    private readonly Pipe _client = new(new PipeOptions(readerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
    private int _fins;

    private static HalfClosePolicy Policy(long? maxBytes = null) => HalfClosePolicy.From(new HalfClosePolicyOptions
    {
        LingerTime = TimeSpan.FromSeconds(30),
        LingerTimeout = TimeSpan.FromSeconds(5),
        LingerMaxBytes = maxBytes,
    });

    private Task<(LingerEnd End, TimeSpan Duration, long Drained, Exception? Error)> Drain(HalfClosePolicy policy, bool finSent = true) =>
        new LingeringClose(_client.Reader, () => { _fins++; return finSent; }, _time).DrainAsync(policy);

    [Fact]
    public async Task ClientSendsThenCloses_ClientClosed_BytesCounted_FinFirst()
    {
        var drain = Drain(Policy());

        await _client.Writer.WriteAsync(new byte[1000]);
        _time.Advance(TimeSpan.FromSeconds(1));
        await _client.Writer.CompleteAsync();
        var (end, duration, drained, _) = await drain.WaitAsync(Bound);

        Assert.Equal((LingerEnd.ClientClosed, 1000L), (end, drained));
        Assert.Equal(TimeSpan.FromSeconds(1), duration);
        Assert.Equal(1, _fins);
    }

    [Fact]
    public async Task NothingArrivesForLingerTimeout_IdleLimit()
    {
        var drain = Drain(Policy());

        _time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromMilliseconds(1));
        Assert.False(drain.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var (end, duration, _, _) = await drain.WaitAsync(Bound);

        Assert.Equal(LingerEnd.IdleLimit, end);
        Assert.Equal(TimeSpan.FromSeconds(5), duration);
    }

    [Fact]
    public async Task ClientTricklesForever_TimeLimitAtLingerTime()
    {
        var drain = Drain(Policy());

        for (var second = 4; second < 30; second += 4)
        {
            _time.Advance(TimeSpan.FromSeconds(4));
            await _client.Writer.WriteAsync(new byte[1]);
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        var (end, duration, drained, _) = await drain.WaitAsync(Bound);

        Assert.Equal(LingerEnd.TimeLimit, end);
        Assert.Equal(TimeSpan.FromSeconds(30), duration);
        Assert.Equal(7, drained);
    }

    [Fact]
    public async Task MoreThanLingerMaxBytes_ByteLimit()
    {
        var drain = Drain(Policy(maxBytes: 64 * 1024));

        await _client.Writer.WriteAsync(new byte[64 * 1024]);
        Assert.False(drain.IsCompleted);
        await _client.Writer.WriteAsync(new byte[1]);
        var (end, _, drained, _) = await drain.WaitAsync(Bound);

        Assert.Equal((LingerEnd.ByteLimit, 64L * 1024 + 1), (end, drained));
    }

    [Fact]
    public async Task ClientResets_Reset()
    {
        var drain = Drain(Policy());

        await _client.Writer.CompleteAsync(new ConnectionResetException("reset"));
        var (end, _, _, error) = await drain.WaitAsync(Bound);

        Assert.Equal(LingerEnd.Reset, end);
        Assert.IsType<ConnectionResetException>(error);
    }

    [Fact]
    public async Task SocketAlreadyGone_NoFin_Reset()
    {
        var (end, _, drained, error) = await Drain(Policy(), finSent: false).WaitAsync(Bound);

        Assert.Equal((LingerEnd.Reset, 0L), (end, drained));
        Assert.Null(error);
    }

    [Theory]
    [InlineData(true, "", false, true)]
    [InlineData(false, "", false, false)]
    [InlineData(false, "more", false, true)]
    [InlineData(false, "more", true, false)]
    public async Task ClientMaySend_UnreadBodyOrUnreadBytes_NotOnceTheInputEnded(bool unreadBody, string unread, bool ended, bool maySend)
    {
        if (unread.Length > 0)
        {
            await _client.Writer.WriteAsync(System.Text.Encoding.ASCII.GetBytes(unread));
        }

        if (ended)
        {
            await _client.Writer.CompleteAsync();
        }

        Assert.Equal(maySend, LingeringClose.ClientMaySend(_client.Reader, socket: null, unreadBody));
    }
}
