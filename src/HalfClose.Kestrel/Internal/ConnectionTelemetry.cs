using Microsoft.Extensions.Logging;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// One connection's logs and metrics. Which instruments are recorded is read once, at the connection's first event that
/// records any (its client's FIN, a lingering close): most connections have none, and never ask the instruments. A
/// half-open count's -1 goes only where its +1 went, so a listener attached meanwhile never sees one without the other.
/// Called under the connection's lock or from its single close path: no state of its own is shared across threads.
/// A struct kept in the connection (no object of its own per connection).
/// </summary>
internal struct ConnectionTelemetry(HalfCloseContext shared, Microsoft.AspNetCore.Connections.ConnectionContext connection)
{
    private MetricsEnabled? _enabled;
    private FinPhase _phase;
    private ConnectionTags? _tags;
    private bool _halfOpenCounted;
    private HalfCloseOutcome? _outcome;

    private readonly HalfCloseMetrics Metrics => shared.Metrics;

    private readonly ILogger Logger => shared.Logger;

    // Read when logged (Kestrel has made it by then, for its own connection log): most connections log nothing.
    private readonly string ConnectionId => connection.ConnectionId;

    /// <summary>The client's FIN arrived in <paramref name="phase"/>: the connection's tags are read now (where recorded), and kept.</summary>
    public void ClientFin(FinPhase phase)
    {
        _phase = phase;
        ReadTags();
    }

    /// <summary>The outcome of a client FIN, once known (null: no FIN, or still undecided); only a client FIN has one.</summary>
    public readonly HalfCloseOutcome? Outcome => _outcome;

    /// <summary>
    /// <paramref name="machine"/> moved from <paramref name="from"/>, where it had waited <paramref name="waited"/>, by
    /// <paramref name="transition"/>: logs and counts what it means.
    /// </summary>
    public void Transitioned(ConnectionState from, TimeSpan waited, in ConnectionStateMachine machine, Transition transition)
    {
        var (to, action, timeout) = (machine.State, machine.Action, machine.Policy.HalfOpenTimeout);
        if (to == ConnectionState.HalfOpen && from != ConnectionState.HalfOpen)
        {
            HalfCloseLog.ClientHalfClosed(Logger, ConnectionId, _phase, action);
            if (Has(MetricsEnabled.HalfOpen))
            {
                _halfOpenCounted = true;
                Metrics.HalfOpenChanged(Tags, +1);
            }
        }

        if (transition.Outcome is { } outcome)
        {
            _outcome = outcome;
            if (from == ConnectionState.HalfOpen)
            {
                HalfOpenEnded(outcome, waited, timeout);
            }
            else
            {
                LogDecision(outcome);
            }
        }
        else if (to == ConnectionState.Closed && transition.Has(ConnectionEffects.Abort))
        {
            // The transport's end never settled, or the client never ended its side after the server's FIN.
            HalfCloseLog.HalfOpenTimedOut(Logger, ConnectionId, timeout);
        }
    }

    public void RequestAfterFin()
    {
        if (Has(MetricsEnabled.RequestsAfterFin))
        {
            Metrics.RequestAfterFin(Tags);
        }
    }

    /// <summary>
    /// One server close while the client might still send; the count goes last, after its duration and bytes. A reset says
    /// which way: the input's <paramref name="error"/>, or, without one, a FIN that could not be sent.
    /// </summary>
    public void Linger(LingerEnd end, TimeSpan duration, long drained, Exception? error)
    {
        ReadTags();
        HalfCloseLog.LingerEnded(Logger, ConnectionId, end, duration.TotalMilliseconds, drained);
        if (end == LingerEnd.Reset)
        {
            HalfCloseLog.LingerReset(Logger, ConnectionId, error is null ? "FIN could not be sent, the socket was gone" : "the transport's input failed", error);
        }

        if (end != LingerEnd.Rejected && Has(MetricsEnabled.LingerDuration))
        {
            Metrics.LingerDuration(Tags, end, duration);
        }

        if (end != LingerEnd.Rejected && drained > 0 && Has(MetricsEnabled.LingerDrained))
        {
            Metrics.LingerDrained(Tags, end, drained);
        }

        if (Has(MetricsEnabled.Lingers))
        {
            Metrics.Linger(Tags, end);
        }
    }

    /// <summary>At the connection's end: one count for a client FIN, with the phase it came in and how it ended.</summary>
    public void Ended()
    {
        if (_outcome is { } outcome && Has(MetricsEnabled.ClientFins))
        {
            Metrics.ClientFin(Tags, _phase, outcome);
        }
    }

    public readonly void UnexpectedError(Exception exception) => HalfCloseLog.UnexpectedError(Logger, ConnectionId, exception);

    private void HalfOpenEnded(HalfCloseOutcome outcome, TimeSpan duration, TimeSpan timeout)
    {
        if (_halfOpenCounted)
        {
            _halfOpenCounted = false;
            Metrics.HalfOpenChanged(Tags, -1);
        }

        if (Has(MetricsEnabled.HalfOpenDuration))
        {
            Metrics.HalfOpenDuration(Tags, outcome, duration);
        }

        switch (outcome)
        {
            case HalfCloseOutcome.Served or HalfCloseOutcome.Discarded:
                HalfCloseLog.ServedAfterFin(Logger, ConnectionId, duration.TotalMilliseconds);
                break;
            case HalfCloseOutcome.TimedOut:
                HalfCloseLog.HalfOpenTimedOut(Logger, ConnectionId, timeout);
                break;
            case HalfCloseOutcome.Reset:
                HalfCloseLog.ResetWhileHalfOpen(Logger, ConnectionId);
                break;
            default:
                HalfCloseLog.AbortedOnFin(Logger, ConnectionId);
                break;
        }
    }

    private readonly void LogDecision(HalfCloseOutcome outcome)
    {
        if (outcome == HalfCloseOutcome.Bypassed)
        {
            HalfCloseLog.Bypassed(Logger, ConnectionId);
        }
        else
        {
            HalfCloseLog.AbortedOnFin(Logger, ConnectionId);
        }
    }

    private readonly ConnectionTags Tags => _tags ?? default;

    /// <summary>The tags, read once while the connection is still there; only where an instrument records them.</summary>
    private void ReadTags()
    {
        if (Enabled != MetricsEnabled.None)
        {
            _tags ??= ConnectionTags.Of(connection);
        }
    }

    /// <summary>The instruments with a listener, read at the first call (each an <c>Enabled</c> check: none for most connections).</summary>
    private MetricsEnabled Enabled => _enabled ??= Metrics.Enabled;

    private bool Has(MetricsEnabled instrument) => (Enabled & instrument) == instrument;
}
