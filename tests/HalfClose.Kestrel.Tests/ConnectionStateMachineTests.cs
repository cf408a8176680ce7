using HalfClose.Kestrel.Internal;

namespace HalfClose.Kestrel.Tests;

/// <summary>The connection's state machine on its own: every transition and every deadline, with times passed in.</summary>
public sealed class ConnectionStateMachineTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(10);

    private static ConnectionStateMachine New() =>
        new(HalfClosePolicy.From(new HalfClosePolicyOptions { HalfOpenTimeout = Timeout }), Interval);

    private static ConnectionStateMachine HalfOpen(FinAction action = FinAction.Serve)
    {
        var machine = New();
        machine.InputEnded(InputEnd.ClientFin, action, T0);
        return machine;
    }

    private static ConnectionStateMachine In(ConnectionState state)
    {
        var machine = New();
        switch (state)
        {
            case ConnectionState.Ending:
                machine.TransportClosed(T0);
                break;
            case ConnectionState.HalfOpen:
                machine.InputEnded(InputEnd.ClientFin, FinAction.Serve, T0);
                break;
            case ConnectionState.SendShutDown:
                machine.SendShutDown(T0);
                break;
            case ConnectionState.Closed:
                machine.InputEnded(InputEnd.Reset, FinAction.Abort, T0);
                break;
        }

        Assert.Equal(state, machine.State);
        return machine;
    }

    [Theory]
    [InlineData((int)FinAction.Serve, (int)ConnectionState.HalfOpen, (int)ConnectionEffects.SignalHalfClosed, -1)]
    [InlineData((int)FinAction.ServeInFlightOnly, (int)ConnectionState.HalfOpen, (int)(ConnectionEffects.SignalHalfClosed | ConnectionEffects.RequestClose), -1)]
    [InlineData((int)FinAction.Abort, (int)ConnectionState.Closed, (int)ConnectionEffects.TellKestrel, (int)HalfCloseOutcome.Aborted)]
    [InlineData((int)FinAction.Bypass, (int)ConnectionState.Closed, (int)ConnectionEffects.TellKestrel, (int)HalfCloseOutcome.Bypassed)]
    public void Open_ClientFin_ThePolicysAnswer(int actionValue, int stateValue, int effectsValue, int outcomeValue)
    {
        var (action, state, effects) = ((FinAction)actionValue, (ConnectionState)stateValue, (ConnectionEffects)effectsValue);
        HalfCloseOutcome? outcome = outcomeValue < 0 ? null : (HalfCloseOutcome)outcomeValue;
        var machine = New();

        var transition = machine.InputEnded(InputEnd.ClientFin, action, T0);

        Assert.Equal(state, machine.State);
        Assert.Equal(effects, transition.Effects);
        Assert.Equal(outcome, transition.Outcome);
        Assert.Equal(action, machine.Action);
        if (state == ConnectionState.HalfOpen)
        {
            Assert.Equal(T0 + Interval, transition.Wake);
            Assert.Equal(T0 + Timeout, machine.Deadline);
        }
        else
        {
            Assert.Null(transition.Wake);
        }
    }

    [Theory]
    [InlineData((int)InputEnd.Reset)]
    [InlineData((int)InputEnd.ServerClosed)]
    public void OpenOrEnding_ResetOrServerClose_KestrelTold_NotAClientFin(int endValue)
    {
        var end = (InputEnd)endValue;
        foreach (var state in new[] { ConnectionState.Open, ConnectionState.Ending, ConnectionState.SendShutDown })
        {
            var machine = In(state);

            var transition = machine.InputEnded(end, FinAction.Serve, T0);

            Assert.Equal(ConnectionState.Closed, machine.State);
            Assert.Equal(ConnectionEffects.TellKestrel, transition.Effects);
            Assert.Null(transition.Outcome);
        }
    }

    [Fact]
    public void Open_TransportClosed_EndingProbesAtOnceAndAtEachInterval()
    {
        var machine = New();

        var closed = machine.TransportClosed(T0);
        var tick = machine.Tick(T0 + Interval);

        Assert.Equal(ConnectionState.Ending, machine.State);
        Assert.Equal(new Transition(ConnectionEffects.Probe, null, T0 + Interval), closed);
        Assert.Equal(new Transition(ConnectionEffects.Probe, null, T0 + Interval + Interval), tick);
    }

    [Fact]
    public void Ending_ClientFinSettles_HalfOpenFromThen()
    {
        var machine = In(ConnectionState.Ending);
        var later = T0 + TimeSpan.FromMilliseconds(50);

        var transition = machine.InputEnded(InputEnd.ClientFin, FinAction.Serve, later);

        Assert.Equal(ConnectionState.HalfOpen, machine.State);
        Assert.Equal(ConnectionEffects.SignalHalfClosed, transition.Effects);
        Assert.Equal(later + Timeout, machine.Deadline);
    }

    [Fact]
    public void Ending_NeverSettles_AbortedAtTheDeadline()
    {
        var machine = In(ConnectionState.Ending);

        var beforeDeadline = machine.Tick(T0 + Timeout - TimeSpan.FromTicks(1));
        var atDeadline = machine.Tick(T0 + Timeout);

        Assert.Equal(T0 + Timeout, beforeDeadline.Wake);
        Assert.Equal(ConnectionState.Closed, machine.State);
        Assert.Equal(ConnectionEffects.Abort | ConnectionEffects.TellKestrel, atDeadline.Effects);
        Assert.Null(atDeadline.Outcome);
    }

    [Fact]
    public void HalfOpen_Ticks_WakeAtTheIntervalButNeverPastTheDeadline()
    {
        var machine = HalfOpen();

        var early = machine.Tick(T0 + Interval);
        var late = machine.Tick(T0 + Timeout - TimeSpan.FromMilliseconds(50));

        Assert.Equal(new Transition(ConnectionEffects.None, null, T0 + Interval + Interval), early);
        Assert.Equal(T0 + Timeout, late.Wake);
        Assert.Equal(ConnectionState.HalfOpen, machine.State);
    }

    [Fact]
    public void HalfOpen_ResetSeen_ClosedAsReset_KestrelTold()
    {
        var machine = HalfOpen();

        var transition = machine.Tick(T0 + Interval, resetSeen: true);

        Assert.Equal(ConnectionState.Closed, machine.State);
        Assert.Equal(new Transition(ConnectionEffects.TellKestrel, HalfCloseOutcome.Reset), transition);
    }

    [Fact]
    public void HalfOpen_Deadline_TimedOut_AbortedWithRst()
    {
        var machine = HalfOpen();

        var transition = machine.Tick(T0 + Timeout);

        Assert.Equal(ConnectionState.Closed, machine.State);
        Assert.Equal(new Transition(ConnectionEffects.Abort | ConnectionEffects.TellKestrel, HalfCloseOutcome.TimedOut), transition);
    }

    [Fact]
    public void HalfOpen_EndpointAborts_Aborted()
    {
        var machine = HalfOpen();

        var transition = machine.EndpointAborts();

        Assert.Equal(new Transition(ConnectionEffects.TellKestrel, HalfCloseOutcome.Aborted), transition);
        Assert.Equal(ConnectionState.Closed, machine.State);
    }

    [Theory]
    [InlineData((int)ConnectionState.Open)]
    [InlineData((int)ConnectionState.Ending)]
    [InlineData((int)ConnectionState.SendShutDown)]
    [InlineData((int)ConnectionState.Closed)]
    public void NotHalfOpen_EndpointAborts_Nothing(int stateValue)
    {
        var state = (ConnectionState)stateValue;
        var machine = In(state);

        Assert.Equal(Transition.Nothing, machine.EndpointAborts());
        Assert.Equal(state, machine.State);
    }

    [Theory]
    [InlineData((int)FinAction.Serve, false, (int)HalfCloseOutcome.Served)]
    [InlineData((int)FinAction.ServeInFlightOnly, false, (int)HalfCloseOutcome.Discarded)]
    [InlineData((int)FinAction.Serve, true, (int)HalfCloseOutcome.Reset)]
    public void HalfOpen_Completed_HowItWasServed(int actionValue, bool failedAfterFin, int outcomeValue)
    {
        var (action, outcome) = ((FinAction)actionValue, (HalfCloseOutcome)outcomeValue);
        var machine = HalfOpen(action);

        var transition = machine.Completed(failedAfterFin);

        Assert.Equal(new Transition(ConnectionEffects.None, outcome), transition);
        Assert.Equal(ConnectionState.Closed, machine.State);
    }

    [Theory]
    [InlineData((int)ConnectionState.Open)]
    [InlineData((int)ConnectionState.Ending)]
    [InlineData((int)ConnectionState.SendShutDown)]
    public void NotHalfOpen_Completed_ClosedWithoutOutcome(int stateValue)
    {
        var state = (ConnectionState)stateValue;
        var machine = In(state);

        Assert.Equal(new Transition(ConnectionEffects.None), machine.Completed(failedAfterFin: true));
        Assert.Equal(ConnectionState.Closed, machine.State);
    }

    [Fact]
    public void Open_SendShutDown_WaitsForTheClientUntilTheDeadline_ThenAborts()
    {
        var machine = New();

        var shutdown = machine.SendShutDown(T0);
        var tick = machine.Tick(T0 + Interval);
        var deadline = machine.Tick(T0 + Timeout);

        Assert.Equal(new Transition(ConnectionEffects.None, null, T0 + Timeout), shutdown);
        Assert.Equal(new Transition(ConnectionEffects.Probe, null, T0 + Timeout), tick);
        Assert.Equal(new Transition(ConnectionEffects.Abort | ConnectionEffects.TellKestrel), deadline);
        Assert.Equal(ConnectionState.Closed, machine.State);
    }

    [Fact]
    public void Ending_SendShutDown_KeepsProbing()
    {
        var machine = In(ConnectionState.Ending);

        var transition = machine.SendShutDown(T0 + Interval);

        Assert.Equal(ConnectionState.SendShutDown, machine.State);
        Assert.True(transition.Has(ConnectionEffects.Probe));
    }

    [Fact]
    public void SendShutDown_ClientFin_HalfOpenAsAnyFin_TransportCloseProbes()
    {
        var machine = In(ConnectionState.SendShutDown);

        var closed = machine.TransportClosed(T0 + Interval);
        var fin = machine.InputEnded(InputEnd.ClientFin, FinAction.Serve, T0 + Interval);

        Assert.Equal(ConnectionEffects.Probe, closed.Effects);
        Assert.Equal(ConnectionState.HalfOpen, machine.State);
        Assert.True(fin.Has(ConnectionEffects.SignalHalfClosed));
    }

    [Fact]
    public void HalfOpen_SendShutDownAndTransportClose_Nothing()
    {
        var machine = HalfOpen();

        Assert.Equal(Transition.Nothing, machine.SendShutDown(T0 + Interval));
        Assert.Equal(Transition.Nothing, machine.TransportClosed(T0 + Interval));
        Assert.Equal(ConnectionState.HalfOpen, machine.State);
    }

    [Fact]
    public void Closed_EveryEvent_Nothing()
    {
        var machine = In(ConnectionState.Closed);

        Assert.Equal(Transition.Nothing, machine.TransportClosed(T0));
        Assert.Equal(Transition.Nothing, machine.InputEnded(InputEnd.ClientFin, FinAction.Serve, T0));
        Assert.Equal(Transition.Nothing, machine.Tick(T0 + Timeout, resetSeen: true));
        Assert.Equal(Transition.Nothing, machine.SendShutDown(T0));
        Assert.Equal(Transition.Nothing, machine.EndpointAborts());
        Assert.Equal(Transition.Nothing, machine.Completed(failedAfterFin: false));
        Assert.Equal(ConnectionState.Closed, machine.State);
    }

    [Fact]
    public void Open_Tick_Nothing()
    {
        var machine = New();

        Assert.Equal(Transition.Nothing, machine.Tick(T0, resetSeen: true));
        Assert.Equal(ConnectionState.Open, machine.State);
    }

    [Fact]
    public void ReplacePolicy_LaterDeadlinesFollowIt()
    {
        var machine = New();
        machine.ReplacePolicy(HalfClosePolicy.From(new HalfClosePolicyOptions { HalfOpenTimeout = TimeSpan.FromSeconds(7) }));

        machine.InputEnded(InputEnd.ClientFin, FinAction.Serve, T0);

        Assert.Equal(T0 + TimeSpan.FromSeconds(7), machine.Deadline);
    }
}
