using System.IO.Pipelines;
using System.Net.Sockets;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The server's close while the client may still be sending (nginx's lingering close): FIN after the last response byte,
/// then read and discard until the client closes, within <c>LingerTime</c> (total), <c>LingerTimeout</c> (between reads)
/// and <c>LingerMaxBytes</c>. Reads the transport's own input: drained bytes never reach Kestrel's parser.
/// </summary>
/// <param name="input">The transport's input (Kestrel's reader of it is completed by now).</param>
/// <param name="sendFin">Sends FIN after every byte already sent; false when the socket is gone.</param>
/// <param name="time">The clock the bounds are measured on.</param>
internal sealed class LingeringClose(PipeReader input, Func<bool> sendFin, TimeProvider time)
{
    /// <summary>
    /// The server is done and every response byte is sent: how it closes under <paramref name="policy"/>. Null: the
    /// transport's own close (nothing left to read, or <c>Linger: Off</c>); otherwise how the linger, or the reject, ended
    /// (with the input's error when a reset ended it).
    /// </summary>
    public static async ValueTask<(LingerEnd End, TimeSpan Duration, long Drained, Exception? Error)?> CloseAsync(
        HalfClosePolicy policy, PipeReader input, ISendPath output, Socket? socket, bool bodyUnread, TimeProvider time)
    {
        switch (policy.OnServerClose(ClientMaySend(input, socket, bodyUnread)))
        {
            case CloseAction.Reset:
                return (LingerEnd.Rejected, TimeSpan.Zero, 0, null);
            case CloseAction.Drain:
                return await new LingeringClose(input, output.SendFin, time).DrainAsync(policy).ConfigureAwait(false);
            default:
                return null;
        }
    }

    /// <summary>Whether a close that ended this way frees the socket with RST: rejected, or cut at a bound while the client still sends.</summary>
    public static bool EndsWithReset(LingerEnd end) => end is LingerEnd.Rejected or LingerEnd.TimeLimit or LingerEnd.IdleLimit or LingerEnd.ByteLimit;

    /// <summary>
    /// Whether the client may still be sending, once the server is done and no FIN came: a request body left unread, bytes
    /// left unread in the input, or bytes arriving in the socket's buffer. False when the input shows its end.
    /// </summary>
    public static bool ClientMaySend(PipeReader input, Socket? socket, bool unreadBody)
    {
        if (unreadBody)
        {
            return true;
        }

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
        catch (Exception ex) when (InputEnds.Classify(ex) is not null)
        {
            // The input ended with an error (a reset): nothing to linger for.
            return false;
        }

        try
        {
            return socket?.Available > 0;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Sends FIN, then discards within the bounds: how it ended, how long it took, how many bytes it discarded, and the
    /// input's error when the client's reset (or the server's abort) ended it. <see cref="LingerEnd.Reset"/> with no error:
    /// FIN could not be sent, the socket was gone.
    /// </summary>
    public async Task<(LingerEnd End, TimeSpan Duration, long Drained, Exception? Error)> DrainAsync(HalfClosePolicy policy)
    {
        var started = time.GetTimestamp();
        var (end, drained, error) = sendFin() ? await DiscardAsync(policy, started).ConfigureAwait(false) : (LingerEnd.Reset, 0L, null);
        return (end, time.GetElapsedTime(started), drained, error);
    }

    private async Task<(LingerEnd End, long Drained, Exception? Error)> DiscardAsync(HalfClosePolicy policy, long started)
    {
        long drained = 0;
        using var idle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        while (true)
        {
            var wait = policy.NextLingerWait(time.GetElapsedTime(started));
            if (wait == TimeSpan.Zero)
            {
                return (LingerEnd.TimeLimit, drained, null);
            }

            idle.CancelAfter(wait);
            ReadResult result;
            try
            {
                result = await input.ReadAsync(idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (idle.IsCancellationRequested)
            {
                var end = policy.NextLingerWait(time.GetElapsedTime(started)) == TimeSpan.Zero ? LingerEnd.TimeLimit : LingerEnd.IdleLimit;
                return (end, drained, null);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || InputEnds.Classify(ex) is not null)
            {
                // The transport's input completed with an error: the client reset, or the server aborted.
                return (LingerEnd.Reset, drained, ex);
            }

            drained += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return (LingerEnd.ClientClosed, drained, null);
            }

            if (policy.IsOverLingerCap(drained))
            {
                return (LingerEnd.ByteLimit, drained, null);
            }
        }
    }
}
