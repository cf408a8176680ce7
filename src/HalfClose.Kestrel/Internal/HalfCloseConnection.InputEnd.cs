using Microsoft.AspNetCore.Connections.Features;
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
            lock (Gate)
            {
                var action = FinAction.Abort;
                if (end == InputEnd.ClientFin)
                {
                    var facts = Facts;
                    var isTls = _connection.Features.Find<ITlsConnectionFeature>() is not null;
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

        if (transition.Has(ConnectionEffects.RequestClose))
        {
            // Kestrel finishes the request in flight (with Connection: close) and reads no further request: asked before
            // anyone can learn of the FIN, so that a handler answering on it cannot let the next request in. Only a flag
            // and a cancelled read in Kestrel, safe inside its read.
            OpenCloseGate(CloseGate.CloseWanted);
        }

        var queued = transition.Effects & ~ConnectionEffects.RequestClose;
        if (transition.Has(ConnectionEffects.SignalHalfClosed))
        {
            // Known at once (a request ending now counts as answered after the FIN); the token's callbacks wait for the pool.
            _clientHalfClosed = true;

            // Paired with the token's getter, which makes its source and then looks at the flag again: one sees the other.
            Interlocked.MemoryBarrier();
            if (queued == ConnectionEffects.SignalHalfClosed && Volatile.Read(ref _halfClosedSource) is null)
            {
                // Nobody holds the token: the flag is the whole signal.
                queued = ConnectionEffects.None;
            }
        }

        if (queued != ConnectionEffects.None)
        {
            // The input settles once: this is the only work item the connection ever queues.
            _inputEndEffects = queued;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <inheritdoc/>
    public bool WaitsForRequestHead => _shared.TracksRequests && (Facts & (RequestFacts.InFlight | RequestFacts.BodyUnread)) == 0;

    /// <inheritdoc/>
    public void OnHeadTaken() => t_headTaken = this;

    /// <inheritdoc/>
    /// <remarks>
    /// The transport's close no longer needs hearing (<see cref="OnTransportClosed"/> would return at once): its callback is
    /// taken off the transport's token now, so the transport's close, which often comes later (one connection per
    /// request), runs none of this connection's code. <see cref="Complete"/> still waits out a callback already running.
    /// </remarks>
    public void OnReaderDone() => _transportRegistration.Unregister();

    /// <inheritdoc/>
    public void OnFirstRead()
    {
        // Below TLS the reader is the TLS layer: its reads tell nothing of Kestrel's requests. Asked while Kestrel waits for
        // its first request, still in records the TLS layer has not decrypted, the close would drop the connection
        // unanswered; there only a request that has begun (the request middleware) opens the gate.
        if (!_belowTls || _connection.Features.Find<ITlsConnectionFeature>() is null)
        {
            OpenCloseGate(CloseGate.ReadBegun);
        }
    }

    /// <summary>
    /// Asks Kestrel to finish the request in flight and read no further, once it has both been decided and Kestrel has
    /// begun its first request: asked before that, Kestrel would drop the connection unanswered (its protocol not yet
    /// chosen) or begin the request with keep-alive set afresh.
    /// </summary>
    private void OpenCloseGate(CloseGate part)
    {
        var before = (CloseGate)Interlocked.Or(ref _closeGate, (int)part);
        if (before != CloseGate.Open && (before | part) == CloseGate.Open)
        {
            _connection.Features.Find<IConnectionLifetimeNotificationFeature>()?.RequestClose();
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
