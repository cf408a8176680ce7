using Microsoft.AspNetCore.Connections;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The facet the installing layer calls once Kestrel is done with the connection (Kestrel's connection-completion
/// callback, or where there is none the middleware's <c>finally</c>, or the accepted connection's disposal): the server's
/// close, on one thread, after every other event has had its turn.
/// </summary>
internal sealed partial class HalfCloseConnection
{
    /// <summary>
    /// Kestrel, and every middleware inside this one, is done with the connection: completes once every byte it wrote is
    /// sent (the send loop has ended on its send queue, having handed the close to the transport or not), at once when the
    /// connection passed through. No async method of its own: when it does wait, its caller's state machine does.
    /// </summary>
    public ValueTask SentAsync() => _output?.CompleteAsync() ?? default;

    /// <summary>
    /// After <see cref="SentAsync"/>: the server's close (a lingering close, a reset, or the transport's own close), then
    /// <see cref="Complete"/>. Completes at once, allocating nothing, when nothing lingers. Never throws.
    /// </summary>
    public ValueTask CloseAsync()
    {
        try
        {
            // An end Kestrel's last read may have brought unseen, settled before the close decides on it.
            _input.LookBeforeClose();
            if (_output is { Failed: false, HandedOver: false } output && _input.End == InputEnd.None && PolicyWhileOpen() is { } policy)
            {
                _input.HandOverToClose();
                var linger = LingeringClose.CloseAsync(policy, _input.Inner, output, _socket, Facts.Has(RequestFacts.BodyUnread), _shared.Time);
                if (!linger.IsCompletedSuccessfully)
                {
                    return LingeredAsync(policy, linger);
                }

                Lingered(policy, linger.Result);
            }
        }
        catch (Exception ex)
        {
            _telemetry.UnexpectedError(ex);
        }

        Complete();
        return default;
    }

    private async ValueTask LingeredAsync(HalfClosePolicy policy, ValueTask<(LingerEnd End, TimeSpan Duration, long Drained, Exception? Error)?> linger)
    {
        try
        {
            Lingered(policy, await linger.ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            _telemetry.UnexpectedError(ex);
        }

        Complete();
    }

    /// <summary>How a close that lingered (or rejected) ended: a reset where it ends with one, and its count.</summary>
    private void Lingered(HalfClosePolicy policy, (LingerEnd End, TimeSpan Duration, long Drained, Exception? Error)? linger)
    {
        if (linger is not { } ended)
        {
            return;
        }

        if (LingeringClose.EndsWithReset(ended.End))
        {
            // Rejected, or the client still sends at a bound: a reset frees the socket now, after the whole response.
            _connection.Abort(new ConnectionAbortedException($"Closed with RST: HalfClose:Linger {policy.Linger}, {ended.End}."));
        }

        _telemetry.Linger(ended.End, ended.Duration, ended.Drained, ended.Error);
    }

    /// <summary>The policy in force, or null once Kestrel has been told the connection is closed.</summary>
    private HalfClosePolicy? PolicyWhileOpen()
    {
        lock (Gate)
        {
            return _machine.State == ConnectionState.Closed ? null : _machine.Policy;
        }
    }

    private bool IsHalfOpen()
    {
        lock (Gate)
        {
            return _machine.State == ConnectionState.HalfOpen;
        }
    }
}
