namespace HalfClose.Kestrel.Internal;

/// <summary>
/// One connection's life: one state, one transition per event, every wait a deadline. Pure: times are passed in (the
/// endpoint's clock, <see cref="HalfCloseContext.Now"/>: only differences count), nothing is read or written. The
/// connection calls it under its lock and carries out the <see cref="Transition"/> it returns.
/// </summary>
internal struct ConnectionStateMachine(HalfClosePolicy policy, TimeSpan checkInterval)
{
    /// <summary>The current state.</summary>
    public ConnectionState State { get; private set; }

    /// <summary>What the client's FIN was answered with, once it was.</summary>
    public FinAction Action { get; private set; }

    /// <summary>When the current wait began (the client's FIN, the server's FIN, the transport's close).</summary>
    public TimeSpan Since { get; private set; }

    /// <summary>When the current wait ends, whatever happens.</summary>
    public TimeSpan Deadline { get; private set; }

    /// <summary>The policy in force.</summary>
    public readonly HalfClosePolicy Policy => policy;

    /// <summary>An endpoint's own policy found only once the connection had started: it decides from now on.</summary>
    public void ReplacePolicy(HalfClosePolicy replacement) => policy = replacement;

    /// <summary>The transport says it closed (it does so for a FIN, a reset and the server's own close alike).</summary>
    public Transition TransportClosed(TimeSpan now)
    {
        switch (State)
        {
            case ConnectionState.Open:
                Wait(ConnectionState.Ending, now);
                return new(ConnectionEffects.Probe, Wake: NextWake(now));
            case ConnectionState.SendShutDown:
                return new(ConnectionEffects.Probe, Wake: NextWake(now));
            default:
                return Transition.Nothing;
        }
    }

    /// <summary>The input settled how it ended; <paramref name="action"/> is the policy's answer to a client FIN.</summary>
    public Transition InputEnded(InputEnd end, FinAction action, TimeSpan now)
    {
        if (State is not (ConnectionState.Open or ConnectionState.Ending or ConnectionState.SendShutDown))
        {
            return Transition.Nothing;
        }

        if (end != InputEnd.ClientFin)
        {
            // A reset, or the server's own close: Kestrel learns it, as without the policy.
            return Close(ConnectionEffects.TellKestrel, outcome: null);
        }

        Action = action;
        switch (action)
        {
            case FinAction.Bypass:
                return Close(ConnectionEffects.TellKestrel, HalfCloseOutcome.Bypassed);
            case FinAction.Abort:
                return Close(ConnectionEffects.TellKestrel, HalfCloseOutcome.Aborted);
            default:
                Wait(ConnectionState.HalfOpen, now);
                var effects = ConnectionEffects.SignalHalfClosed;
                if (action == FinAction.ServeInFlightOnly)
                {
                    effects |= ConnectionEffects.RequestClose;
                }

                return new(effects, Wake: NextWake(now));
        }
    }

    /// <summary>
    /// A wait's timer fired. <paramref name="resetSeen"/>: while half-open, the socket shows the client reset the
    /// connection (nobody reads it after the FIN, so nobody else would notice).
    /// </summary>
    public Transition Tick(TimeSpan now, bool resetSeen = false)
    {
        switch (State)
        {
            case ConnectionState.HalfOpen when resetSeen:
                return Close(ConnectionEffects.TellKestrel, HalfCloseOutcome.Reset);
            case ConnectionState.HalfOpen when now >= Deadline:
                return Close(ConnectionEffects.Abort | ConnectionEffects.TellKestrel, HalfCloseOutcome.TimedOut);
            case ConnectionState.Ending or ConnectionState.SendShutDown when now >= Deadline:
                return Close(ConnectionEffects.Abort | ConnectionEffects.TellKestrel, outcome: null);
            case ConnectionState.Ending or ConnectionState.SendShutDown:
                return new(ConnectionEffects.Probe, Wake: NextWake(now));
            case ConnectionState.HalfOpen:
                return new(ConnectionEffects.None, Wake: NextWake(now));
            default:
                return Transition.Nothing;
        }
    }

    /// <summary>The application ended the server's direction first (<see cref="IHalfCloseFeature.ShutdownSendAsync"/>).</summary>
    public Transition SendShutDown(TimeSpan now)
    {
        if (State is not (ConnectionState.Open or ConnectionState.Ending))
        {
            // Half-open: the client ended first; its wait is already bounded.
            return Transition.Nothing;
        }

        var wasEnding = State == ConnectionState.Ending;
        Wait(ConnectionState.SendShutDown, now);
        return new(wasEnding ? ConnectionEffects.Probe : ConnectionEffects.None, Wake: NextWake(now));
    }

    /// <summary>The request in flight after the FIN belongs to an endpoint whose policy is <c>Abort</c>.</summary>
    public Transition EndpointAborts() =>
        State == ConnectionState.HalfOpen ? Close(ConnectionEffects.TellKestrel, HalfCloseOutcome.Aborted) : Transition.Nothing;

    /// <summary>
    /// Kestrel and every middleware are done with the connection. <paramref name="failedAfterFin"/>: a request served
    /// after the FIN was aborted, or a send failed (the client reset before the watch saw it).
    /// </summary>
    public Transition Completed(bool failedAfterFin)
    {
        if (State == ConnectionState.HalfOpen)
        {
            var served = Action == FinAction.ServeInFlightOnly ? HalfCloseOutcome.Discarded : HalfCloseOutcome.Served;
            return Close(ConnectionEffects.None, failedAfterFin ? HalfCloseOutcome.Reset : served);
        }

        return State == ConnectionState.Closed ? Transition.Nothing : Close(ConnectionEffects.None, outcome: null);
    }

    private void Wait(ConnectionState state, TimeSpan now)
    {
        State = state;
        Since = now;
        Deadline = now + policy.HalfOpenTimeout;
    }

    /// <summary>The next look: at the check interval while the socket is watched or the end is being settled, never past the deadline.</summary>
    private readonly TimeSpan NextWake(TimeSpan now)
    {
        if (State == ConnectionState.SendShutDown)
        {
            return Deadline;
        }

        var next = now + checkInterval;
        return next < Deadline ? next : Deadline;
    }

    private Transition Close(ConnectionEffects effects, HalfCloseOutcome? outcome)
    {
        State = ConnectionState.Closed;
        return new(effects, outcome);
    }
}
