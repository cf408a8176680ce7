using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>How the input ended, noted once by whichever path sees it first, and counted when the connection ends.</summary>
internal sealed partial class HalfCloseConnection
{
    private TcpState _endState;
    private bool _endAfterServerFin;
    private FinPhase _phase;
    private HalfCloseOutcome? _outcome;
    private bool _isTls;

    // Written last, under the lock, with a release; read without the lock (RequestStarted asks on every request).
    private volatile bool _endNoted;
    private bool _phaseTentative;

    /// <summary>
    /// Notes, once, the socket's state (<paramref name="probed"/>, or read now), the transport and the phase. The close
    /// notification cannot see what was left unread, so a phase it guesses is replaced when the input path sees the end.
    /// </summary>
    private void NoteEnd(TcpState? probed, bool fromInput)
    {
        lock (_lock)
        {
            if (_endNoted)
            {
                if (fromInput && _phaseTentative)
                {
                    // The guess was "a request between parsing and the application": wrong only if Kestrel was still
                    // parsing a partial request. A request served since leaves nothing unread, and the guess stands.
                    if (_input.RemainderAtEnd == InputRemainder.Partial && Volatile.Read(ref _request) is null)
                    {
                        _phase = FinPhase.RequestHeaders;
                    }

                    _phaseTentative = false;
                }

                return;
            }

            _endState = probed ?? TcpStateProbe.Read(_socket);
            _endAfterServerFin = ServerFinSentEarly;
            _isTls = _connection.Features.Get<ITlsConnectionFeature>() is not null;
            _phase = CurrentPhase(fromInput);
            _phaseTentative = !fromInput && Volatile.Read(ref _request) is null;
            _endNoted = true;
        }
    }

    private bool IsEndNoted() => _endNoted;

    /// <summary>The state is written before the volatile flag, so a reader that sees the flag sees the state.</summary>
    private bool EndIsClientFin() => _endNoted && HalfClosePolicy.Classify(_endState, _endAfterServerFin) == TransportEnd.ClientFin;

    private void SetOutcome(HalfCloseOutcome outcome)
    {
        lock (_lock)
        {
            _outcome ??= outcome;
        }
    }

    /// <summary>At the connection's end: one count for a client FIN, with the phase it came in and how it ended.</summary>
    private void RecordClientFin()
    {
        if (!EndIsClientFin())
        {
            return;
        }

        // No decision ran when Kestrel read the FIN and closed first: nothing was in flight to serve or abort.
        var outcome = _outcome ?? _policy.OnClientFin(_isTls, IsMultiplexed(_connection)) switch
        {
            FinAction.Abort => HalfCloseOutcome.Aborted,
            FinAction.Bypass => HalfCloseOutcome.Bypassed,
            _ => HalfCloseOutcome.Served,
        };
        _shared.Metrics.ClientFin(_phase, _isTls, outcome);
    }
}
