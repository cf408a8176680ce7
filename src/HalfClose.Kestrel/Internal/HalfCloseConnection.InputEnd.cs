using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>The facet the connection's input talks to (<see cref="IInputEndListener"/>): the end settled, the FIN decided.</summary>
internal sealed partial class HalfCloseConnection : IInputEndListener
{
    /// <summary>The input settled how it ended. Decided here, carried out on the thread pool: this may run inside Kestrel's read.</summary>
    public void OnInputEnded(InputEnd end, InputRemainder remainder, bool readerWasWaiting)
    {
        var now = Now();
        Transition transition;
        try
        {
            lock (_lock)
            {
                var action = FinAction.Abort;
                if (end == InputEnd.ClientFin)
                {
                    var facts = Facts;
                    var isTls = _connection.Features.Get<ITlsConnectionFeature>() is not null;
                    _telemetry.ClientFin(PhaseOf(facts, remainder, readerWasWaiting, isTls));
                    action = _machine.Policy.OnClientFin(isTls, IsMultiplexed(), facts.EndpointClientFin());
                }

                var (from, since) = (_machine.State, _machine.Since);
                transition = Step(from, since, _machine.InputEnded(end, action, now), now);
            }
        }
        catch (Exception ex)
        {
            // A bug: Kestrel gets the connection as it would without the policy.
            _telemetry.UnexpectedError(ex);
            transition = new Transition(ConnectionEffects.TellKestrel);
        }

        if (transition.Has(ConnectionEffects.SignalHalfClosed))
        {
            // Known at once (a request ending now counts as answered after the FIN); the token's callbacks wait for the pool.
            _clientHalfClosed = true;
        }

        if (transition.Has(ConnectionEffects.RequestClose))
        {
            // Kestrel resets keep-alive as each request starts: a request it starts from now on asks again (RequestStarted).
            _closeRequested = true;
        }

        if (transition.Effects != ConnectionEffects.None)
        {
            // The input settles once: this is the only work item the connection ever queues.
            _inputEndEffects = transition.Effects;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>
    /// Where the exchange stood as the FIN arrived, from the pushed facts and what the input held. With no request in the
    /// application and nothing left unread, Kestrel waiting for the next request means between requests; not waiting, it
    /// was still handling one (parsed, not yet in the application, or its response going out). Below TLS the unread
    /// bytes are records, not HTTP: only the waiting tells.
    /// </summary>
    private FinPhase PhaseOf(RequestFacts facts, InputRemainder remainder, bool readerWasWaiting, bool isTls)
    {
        if (!_shared.TracksRequests)
        {
            return FinPhase.Unknown;
        }

        if (facts.Has(RequestFacts.InFlight))
        {
            return facts.Has(RequestFacts.MayHaveBody) && readerWasWaiting ? FinPhase.RequestBody : FinPhase.Response;
        }

        return remainder switch
        {
            _ when isTls && _belowTls => readerWasWaiting ? FinPhase.BetweenRequests : FinPhase.Response,
            InputRemainder.Headers => FinPhase.Response,
            InputRemainder.Partial => FinPhase.RequestHeaders,
            _ => readerWasWaiting ? FinPhase.BetweenRequests : FinPhase.Response,
        };
    }
}
