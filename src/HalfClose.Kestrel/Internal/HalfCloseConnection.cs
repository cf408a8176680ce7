using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// One HTTP/1.x connection under the policy. Its input (<see cref="HalfCloseInput"/>) settles once how the client's side
/// ended; <see cref="ConnectionStateMachine"/> decides what that means; this class carries the decisions out: it stands
/// between the transport's <c>ConnectionClosed</c> token and the one Kestrel registers on, so only a real close (reset,
/// server close, a bound hit, or a FIN the policy aborts) reaches Kestrel. One lock guards the state machine and the timer.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token sources own no timer or wait handle; a late cancel must not race a dispose.")]
internal sealed partial class HalfCloseConnection : IInputEndListener
{
    private readonly ConnectionContext _connection;
    private readonly Socket _socket;
    private readonly HalfCloseContext _shared;
    private readonly ConnectionTelemetry _telemetry;
    private readonly CancellationToken _transportClosed;
    private readonly IDuplexPipe _transport;
    private readonly HalfCloseInput _input;
    private readonly HalfCloseOutput? _output;
    private readonly CancellationTokenSource _closed = new();
    private readonly Lock _lock = new();
    private readonly long _startedAt;
    private readonly bool _belowTls;
    private ConnectionStateMachine _machine;
    private ConnectionState _previous;
    private TimeSpan _waitSince;
    private ITimer? _timer;
    private CancellationTokenRegistration _transportRegistration;

    public HalfCloseConnection(ConnectionContext connection, Socket socket, HalfCloseContext shared)
    {
        _connection = connection;
        _socket = socket;
        _shared = shared;
        var policy = shared.Source.Current;
        _machine = new ConnectionStateMachine(policy, HalfCloseContext.ResetCheckInterval);
        _telemetry = new ConnectionTelemetry(shared, connection.ConnectionId);
        _startedAt = shared.Time.GetTimestamp();
        _transportClosed = connection.ConnectionClosed;
        _transport = connection.Transport;

        // The send path is taken over only on the socket's own transport: above TLS the bytes are not the socket's.
        _belowTls = connection.Features.Get<ITlsConnectionFeature>() is null;
        if (policy.Linger != LingerMode.Off && _belowTls)
        {
            var pool = connection.Features.Get<IMemoryPoolFeature>()?.MemoryPool ?? System.Buffers.MemoryPool<byte>.Shared;
            _output = new HalfCloseOutput(socket, pool);
        }

        _input = new HalfCloseInput(_transport.Input, this, keepInnerOpen: _output is not null, readAhead: !_belowTls);
    }

    /// <summary>The context (policy source, telemetry) this connection was built with.</summary>
    public HalfCloseContext Context => _shared;

    /// <summary>
    /// An endpoint's own policy met a connection already built with another (the endpoint could not be told apart when
    /// the connection was accepted): it decides from now on; a send path chosen for the other policy stays.
    /// </summary>
    public void AdoptPolicy(HalfCloseContext endpoint)
    {
        var policy = endpoint.Source.Current;
        lock (_lock)
        {
            _machine.ReplacePolicy(policy);
        }

        if ((policy.Linger != LingerMode.Off) != (_output is not null) && _belowTls)
        {
            HalfCloseLog.EndpointPolicyLate(_shared.Logger, _connection.ConnectionId, policy.Linger);
        }
    }

    /// <summary>Takes Kestrel's <c>ConnectionClosed</c> and transport over, and starts listening to the transport's token.</summary>
    public void Start()
    {
        _connection.ConnectionClosed = _closed.Token;
        _connection.Transport = new HalfCloseTransport(_transport, _input, _output);
        _output?.Start();
        _connection.Features.Set<IHalfCloseFeature>(this);
        _transportRegistration = _transportClosed.UnsafeRegister(static state => ((HalfCloseConnection)state!).OnTransportClosed(), this);
    }

    /// <summary>The input settled how it ended. Decided here, carried out on the thread pool: this may run inside Kestrel's read.</summary>
    public void OnInputEnded(InputEnd end, InputRemainder remainder, bool readerWasWaiting)
    {
        var now = Now();
        Transition transition;
        lock (_lock)
        {
            var action = FinAction.Abort;
            if (end == InputEnd.ClientFin)
            {
                var facts = Facts;
                var isTls = _connection.Features.Get<ITlsConnectionFeature>() is not null;
                _telemetry.ClientFin(PhaseOf(facts, remainder, readerWasWaiting, isTls), isTls);
                action = _machine.Policy.OnClientFin(isTls, IsMultiplexed(), facts.EndpointClientFin());
            }

            transition = Step(_machine.InputEnded(end, action, now), now);
        }

        if (transition.Effects != ConnectionEffects.None)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.connection.Act(state.transition), (connection: this, transition), preferLocal: false);
        }
    }

    /// <summary>Kestrel and every middleware inside this one are done with the connection: stop watching, give the transport back.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            Step(_machine.Completed(_failedAfterFin || _output?.Failed == true), Now());
        }

        _transportRegistration.Dispose();
        _connection.ConnectionClosed = _transportClosed;
        _connection.Transport = _transport;
        _telemetry.Ended();
        SignalClosed();
    }

    /// <summary>
    /// Runs when Kestrel, and every middleware inside this one, is done with the connection: every response byte sent,
    /// then a lingering close, a reset, or the transport's own close. Never throws.
    /// </summary>
    public async Task CloseAsync()
    {
        if (_output is null)
        {
            return;
        }

        try
        {
            // Nothing more will be written; the send loop sends what is left and stops.
            await _output.Writer.CompleteAsync().ConfigureAwait(false);
            await _output.Sending.ConfigureAwait(false);
            HalfClosePolicy policy;
            lock (_lock)
            {
                if (_output.Failed || _machine.State == ConnectionState.Closed)
                {
                    return;
                }

                policy = _machine.Policy;
            }

            var clientMaySend = _input.End == InputEnd.None && LingeringClose.ClientMaySend(_input.Inner, _socket, Facts.Has(RequestFacts.BodyUnread));
            switch (policy.OnServerClose(clientMaySend))
            {
                case CloseAction.Reset:
                    _connection.Abort(new ConnectionAbortedException("Closed with RST: HalfClose:Linger is Reject."));
                    _telemetry.Linger(LingerEnd.Rejected, TimeSpan.Zero, drained: 0);
                    break;
                case CloseAction.Drain:
                    var (end, duration, drained) = await new LingeringClose(_input.Inner, _output.SendFin, _shared.Time).DrainAsync(policy).ConfigureAwait(false);
                    if (end is LingerEnd.TimeLimit or LingerEnd.IdleLimit or LingerEnd.ByteLimit)
                    {
                        // The client is still sending: a reset frees the socket now; the response was delivered before the FIN.
                        _connection.Abort(new ConnectionAbortedException($"Lingering close ended: {end}."));
                    }

                    _telemetry.Linger(end, duration, drained);
                    break;
            }
        }
        catch (Exception ex)
        {
            _telemetry.UnexpectedError(ex);
        }
    }

    private void OnTransportClosed() => Run(static (ref machine, now, _) => machine.TransportClosed(now));

    private void OnTimer()
    {
        // Nobody reads a half-open socket: its TCP state shows a later reset. Once the server's FIN is out, both ends are done.
        var resetSeen = _output?.FinSent != true && HalfClosePolicy.ShowsReset(TcpStateProbe.Read(_socket));
        Run(static (ref machine, now, resetSeen) => machine.Tick(now, resetSeen), resetSeen);
    }

    private delegate Transition Event(ref ConnectionStateMachine machine, TimeSpan now, bool argument);

    /// <summary>One event: the transition under the lock, its effects after it.</summary>
    private void Run(Event @event, bool argument = false)
    {
        try
        {
            var now = Now();
            Transition transition;
            lock (_lock)
            {
                transition = Step(@event(ref _machine, now, argument), now);
            }

            Act(transition);
        }
        catch (Exception ex)
        {
            _telemetry.UnexpectedError(ex);
            SignalClosed();
        }
    }

    /// <summary>Under the lock: the transition's telemetry, and the timer for its next wake (none once closed).</summary>
    private Transition Step(Transition transition, TimeSpan now)
    {
        _telemetry.Transitioned(_previous, _machine.State, transition, _machine.Action, now - _waitSince, _machine.Policy.HalfOpenTimeout);
        if (_machine.State != _previous)
        {
            _previous = _machine.State;
            _waitSince = _machine.Since;
        }

        if (_machine.State == ConnectionState.Closed)
        {
            _timer?.Dispose();
            _timer = null;
        }
        else if (transition.Wake is { } wake)
        {
            var due = wake > now ? wake - now : TimeSpan.Zero;
            if (_timer is null)
            {
                _timer = _shared.Time.CreateTimer(static state => ((HalfCloseConnection)state!).OnTimer(), this, due, Timeout.InfiniteTimeSpan);
            }
            else
            {
                _timer.Change(due, Timeout.InfiniteTimeSpan);
            }
        }

        return transition;
    }

    /// <summary>Carries out a transition's effects, outside the lock: they call into Kestrel and the application.</summary>
    private void Act(Transition transition)
    {
        if (transition.Has(ConnectionEffects.Probe))
        {
            _input.Probe();
        }

        if (transition.Has(ConnectionEffects.SignalHalfClosed))
        {
            SignalHalfClosed();
        }

        if (transition.Has(ConnectionEffects.RequestClose))
        {
            // Kestrel finishes the request in flight (with Connection: close) and reads no further request.
            _connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        }

        if (transition.Has(ConnectionEffects.Abort))
        {
            // Abort with a reason first: the socket transport then closes with RST and frees the socket now.
            _connection.Abort(new ConnectionAbortedException("The connection stayed half-closed longer than HalfClose:HalfOpenTimeout."));
        }

        if (transition.Has(ConnectionEffects.TellKestrel))
        {
            SignalClosed();
        }
    }

    private TimeSpan Now() => _shared.Time.GetElapsedTime(_startedAt);

    private void SignalClosed()
    {
        try
        {
            _closed.Cancel();
        }
        catch (AggregateException ex)
        {
            _telemetry.UnexpectedError(ex);
        }
    }
}
