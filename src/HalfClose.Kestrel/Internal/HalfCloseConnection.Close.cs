using Microsoft.AspNetCore.Connections;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The facet the installing layer calls once Kestrel is done with the connection (the middleware's <c>finally</c>, or
/// the accepted connection's disposal): the server's close, on one thread, after every other event has had its turn.
/// </summary>
internal sealed partial class HalfCloseConnection
{
    /// <summary>
    /// Runs when Kestrel, and every middleware inside this one, is done with the connection: every response byte sent,
    /// then a lingering close, a reset, or the transport's own close. Never throws.
    /// </summary>
    private async ValueTask CloseAsync()
    {
        if (_output is null)
        {
            return;
        }

        try
        {
            await _output.CompleteAsync().ConfigureAwait(false);
            var policy = PolicyWhileOpen();
            if (_output.Failed || _output.HandedOver || policy is null || _input.End != InputEnd.None)
            {
                return;
            }

            if (await LingeringClose.CloseAsync(policy, _input.Inner, _output, _socket, Facts.Has(RequestFacts.BodyUnread), _shared.Time).ConfigureAwait(false) is { } linger)
            {
                if (LingeringClose.EndsWithReset(linger.End))
                {
                    // Rejected, or the client still sends at a bound: a reset frees the socket now, after the whole response.
                    _connection.Abort(new ConnectionAbortedException($"Closed with RST: HalfClose:Linger {policy.Linger}, {linger.End}."));
                }

                _telemetry.Linger(linger.End, linger.Duration, linger.Drained);
            }
        }
        catch (Exception ex)
        {
            _telemetry.UnexpectedError(ex);
        }
    }

    /// <summary>The policy in force, or null once Kestrel has been told the connection is closed.</summary>
    private HalfClosePolicy? PolicyWhileOpen()
    {
        lock (_lock)
        {
            return _machine.State == ConnectionState.Closed ? null : _machine.Policy;
        }
    }

    private bool IsHalfOpen()
    {
        lock (_lock)
        {
            return _machine.State == ConnectionState.HalfOpen;
        }
    }
}
