using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>Serving after the client's FIN: the watch for a reset and for the half-open timeout.</summary>
internal sealed partial class HalfCloseConnection
{
    private ITimer? _watch;
    private FinAction _action;
    private long _halfClosedAt;

    private void BeginHalfOpen(FinAction action)
    {
        lock (_lock)
        {
            if (_state != Open)
            {
                return;
            }

            _state = HalfOpen;
            _action = action;
            Interlocked.Exchange(ref _halfClosedAt, _shared.Time.GetTimestamp());
            var firstCheck = _policy.NextCheck(TimeSpan.Zero, HalfCloseContext.ResetCheckInterval);
            _watch = _shared.Time.CreateTimer(static state => ((HalfCloseConnection)state!).Check(), this, firstCheck, Timeout.InfiniteTimeSpan);
        }

        _shared.Metrics.HalfOpenStarted(_isTls);
        HalfCloseLog.ClientHalfClosed(_shared.Logger, _connection.ConnectionId, _phase, action);
        SignalHalfClosed();
        if (action == FinAction.ServeInFlightOnly)
        {
            // Kestrel finishes the request in flight (with Connection: close) and reads no further request.
            _connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        }
    }

    /// <summary>While half-open: a reset from the client, or the half-open timeout, ends the connection.</summary>
    private void Check()
    {
        try
        {
            if (Volatile.Read(ref _state) != HalfOpen)
            {
                return;
            }

            // The server's FIN may be out already (ShutdownSendAsync): the client's end then shows past CLOSE-WAIT.
            if (HalfClosePolicy.Classify(TcpStateProbe.Read(_socket), serverFinSent: _output?.FinSent == true) == TransportEnd.Closed)
            {
                HalfCloseLog.ResetWhileHalfOpen(_shared.Logger, _connection.ConnectionId);
                Forward(HalfCloseOutcome.Reset);
                return;
            }

            var policy = _policy;
            var next = policy.NextCheck(HalfOpenFor(), HalfCloseContext.ResetCheckInterval);
            if (next == TimeSpan.Zero)
            {
                HalfCloseLog.HalfOpenTimedOut(_shared.Logger, _connection.ConnectionId, policy.HalfOpenTimeout);

                // Abort with a reason first: the socket transport then closes with RST and frees the socket now.
                _connection.Abort(new ConnectionAbortedException("The connection stayed half-closed longer than HalfClose:HalfOpenTimeout."));
                Forward(HalfCloseOutcome.TimedOut);
                return;
            }

            lock (_lock)
            {
                if (_state == HalfOpen)
                {
                    _watch?.Change(next, Timeout.InfiniteTimeSpan);
                }
            }
        }
        catch (Exception ex)
        {
            HalfCloseLog.UnexpectedError(_shared.Logger, _connection.ConnectionId, ex);
            Forward(HalfCloseOutcome.Reset);
        }
    }

    private TimeSpan HalfOpenFor() => _shared.Time.GetElapsedTime(Interlocked.Read(ref _halfClosedAt));


    private void EndHalfOpen(HalfCloseOutcome outcome)
    {
        SetOutcome(outcome);
        _shared.Metrics.HalfOpenEnded(_isTls, outcome, HalfOpenFor());
    }
}
