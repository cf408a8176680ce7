using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace HalfClose.Kestrel.Internal;

/// <summary>The server's close: every response byte sent, then a lingering close, a reset, or the transport's own close.</summary>
internal sealed partial class HalfCloseConnection
{
    private volatile bool _unreadBody;

    /// <summary>
    /// Runs when Kestrel, and every middleware inside this one, is done with the connection. Never throws: a failure
    /// leaves the connection to the transport's own close.
    /// </summary>
    public async Task CloseAsync()
    {
        if (_output is null)
        {
            return;
        }

        try
        {
            // Nothing more will be written; the send loop sends what is left and stops.
            await _output.Writer.CompleteAsync().ConfigureAwait(false);
            await _output.Sending.ConfigureAwait(false);
            if (_output.Failed || Volatile.Read(ref _state) == Forwarded)
            {
                return;
            }

            var policy = _policy;
            switch (policy.OnServerClose(ClientMaySend()))
            {
                case CloseAction.Reset:
                    _connection.Abort(new ConnectionAbortedException("Closed with RST: HalfClose:Linger is Reject."));
                    RecordLinger(LingerEnd.Rejected, TimeSpan.Zero, drained: 0);
                    break;
                case CloseAction.Drain:
                    await DrainAsync(policy).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception ex)
        {
            HalfCloseLog.UnexpectedError(_shared.Logger, _connection.ConnectionId, ex);
        }
    }

    /// <summary>Whether the client may still be sending: no FIN yet, and a body left unread, bytes left unread, or bytes arriving.</summary>
    private bool ClientMaySend()
    {
        if (_input.EndSeen || IsEndNoted())
        {
            return false;
        }

        if (_unreadBody)
        {
            return true;
        }

        var input = _input.Inner;
        try
        {
            if (input.TryRead(out var result))
            {
                var unread = !result.Buffer.IsEmpty;
                input.AdvanceTo(result.Buffer.Start);
                if (result.IsCompleted)
                {
                    return false;
                }

                if (unread)
                {
                    return true;
                }
            }
        }
        catch (InvalidOperationException)
        {
            // A layer above (TLS) left a read outstanding: the input is not ours to drain; let the transport close it.
            return false;
        }

        try
        {
            return _socket.Available > 0;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// FIN after the last response byte (the send loop has sent it), then read and discard within the bounds; RST when a
    /// bound is hit. Without a reason to linger the transport's own close sends the FIN: one system call fewer.
    /// </summary>
    private async Task DrainAsync(HalfClosePolicy policy)
    {
        var started = _shared.Time.GetTimestamp();
        var (end, drained) = _output!.SendFin()
            ? await DiscardAsync(policy, started).ConfigureAwait(false)
            : (LingerEnd.Reset, 0L);

        if (end is LingerEnd.TimeLimit or LingerEnd.IdleLimit or LingerEnd.ByteLimit)
        {
            // The client is still sending: a reset frees the socket now; the response was delivered before the FIN.
            _connection.Abort(new ConnectionAbortedException($"Lingering close ended: {end}."));
        }

        RecordLinger(end, _shared.Time.GetElapsedTime(started), drained);
    }

    /// <summary>Reads and discards until the client closes or a bound is hit; how it ended, and how many bytes it discarded.</summary>
    private async Task<(LingerEnd End, long Drained)> DiscardAsync(HalfClosePolicy policy, long started)
    {
        var input = _input.Inner;
        long drained = 0;
        using var idle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _shared.Time);
        while (true)
        {
            var wait = policy.NextLingerWait(_shared.Time.GetElapsedTime(started));
            if (wait == TimeSpan.Zero)
            {
                return (LingerEnd.TimeLimit, drained);
            }

            idle.CancelAfter(wait);
            System.IO.Pipelines.ReadResult result;
            try
            {
                result = await input.ReadAsync(idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (idle.IsCancellationRequested)
            {
                var end = policy.NextLingerWait(_shared.Time.GetElapsedTime(started)) == TimeSpan.Zero ? LingerEnd.TimeLimit : LingerEnd.IdleLimit;
                return (end, drained);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The transport's input completed with an error: the client reset, or the server aborted.
                return (LingerEnd.Reset, drained);
            }

            drained += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return (LingerEnd.ClientClosed, drained);
            }

            if (policy.IsOverLingerCap(drained))
            {
                return (LingerEnd.ByteLimit, drained);
            }
        }
    }

    private void RecordLinger(LingerEnd end, TimeSpan duration, long drained)
    {
        HalfCloseLog.LingerEnded(_shared.Logger, _connection.ConnectionId, end, duration.TotalMilliseconds, drained);
        _shared.Metrics.Linger(end, duration, drained);
    }
}
