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
/// server close, a bound hit, or a FIN the policy aborts) reaches Kestrel. One lock (<see cref="Gate"/>) guards the
/// state machine and the timer.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token sources own no timer or wait handle; a late cancel must not race a dispose.")]
internal sealed partial class HalfCloseConnection : IThreadPoolWorkItem, IDuplexPipe, ISendPathOwner
{
    private readonly ConnectionContext _connection;
    private readonly Socket? _socket;
    private readonly HalfCloseContext _shared;
    private ConnectionTelemetry _telemetry;
    private readonly CancellationToken _transportClosed;
    private readonly IDuplexPipe _transport;
    private readonly HalfCloseInput _input;
    private readonly ISendPath? _output;
    private readonly CancellationTokenSource _closed = new();
    private readonly bool _belowTls;
    private ConnectionTimer _timer;
    private ConnectionStateMachine _machine;
    private ConnectionEffects _inputEndEffects;
    private CancellationTokenRegistration _transportRegistration;

    public HalfCloseConnection(ConnectionContext connection, Socket? socket, HalfCloseContext shared)
    {
        _connection = connection;
        _socket = socket;
        _shared = shared;
        var policy = shared.Source.Current;
        _machine = new ConnectionStateMachine(policy, HalfCloseContext.ResetCheckInterval);
        _telemetry = new ConnectionTelemetry(shared, connection);
        _transportClosed = connection.ConnectionClosed;
        _transport = connection.Transport;

        // The send path is taken over only on the socket's own transport, and only to linger: above TLS the bytes are not the socket's.
        _belowTls = connection.Features.Find<ITlsConnectionFeature>() is null;
        _output = policy.Linger != LingerMode.Off && _belowTls ? SendPaths.For(connection, socket, this, shared.WatchesTransportOutput) : null;
        _input = new HalfCloseInput(_transport.Input, this, keepInnerOpen: _output is not null, readAhead: !_belowTls);
    }

    /// <summary>The transport as Kestrel sees it under the policy: the input that settles the end, and the policy's own send path when it closes the socket itself.</summary>
    PipeReader IDuplexPipe.Input => _input;

    PipeWriter IDuplexPipe.Output => _output?.Writer ?? _transport.Output;

    /// <summary>The lock of the state machine and the timer: the input's monitor, where nothing else locks (no object of its own).</summary>
    private object Gate => _input;

    /// <summary>
    /// The connection under the policy that <paramref name="features"/> (a connection's, or a request's, which fall back to
    /// its connection's) belong to; null without one. Looked up by its key and checked against this sealed class: one
    /// comparison, where a cast to the interface searches the object's interfaces.
    /// </summary>
    public static HalfCloseConnection? Of(IFeatureCollection features) => features[typeof(IHalfCloseFeature)] as HalfCloseConnection;

    /// <summary>The context (policy source, telemetry) this connection was built with.</summary>
    public HalfCloseContext Context => _shared;

    /// <summary>The connection's callback on the transport's token (tests: whether it is still there).</summary>
    internal CancellationTokenRegistration TransportRegistration => _transportRegistration;

    /// <summary>Takes Kestrel's <c>ConnectionClosed</c> and transport over, and starts listening to the transport's token.</summary>
    public void Start()
    {
        _connection.ConnectionClosed = _closed.Token;
        _connection.Transport = this;
        _output?.Start();
        _connection.Features.Put<IHalfCloseFeature>(this);
        _transportRegistration = _transportClosed.UnsafeRegister(static state => ((HalfCloseConnection)state!).OnTransportClosed(), this);
    }

    /// <summary>Kestrel and every middleware inside this one are done with the connection: <see cref="SentAsync"/>, then <see cref="CloseAsync"/>.</summary>
    public async ValueTask EndAsync()
    {
        await SentAsync().ConfigureAwait(false);
        await CloseAsync().ConfigureAwait(false);
    }

    /// <summary><see cref="EndAsync"/> as a connection-completion callback: no task of its own when nothing waits (most connections).</summary>
    public Task EndTask()
    {
        var end = EndAsync();
        return end.IsCompletedSuccessfully ? Task.CompletedTask : end.AsTask();
    }

    /// <summary>The connection is over: stop watching, give the transport back, count how the client's FIN ended.</summary>
    public void Complete()
    {
        lock (Gate)
        {
            // Only a half-open wait's length is told: a connection that never had one reads no clock as it ends.
            var (from, since) = (_machine.State, _machine.Since);
            Step(from, since, _machine.Completed(_failedAfterFin || _output?.Failed == true), from == ConnectionState.HalfOpen ? Now() : since);
        }

        // Kestrel's kestrel.connection.duration tells the client FIN's outcome too (recorded once this middleware returns).
        if (_telemetry.Outcome is { } outcome)
        {
            _connection.Features.Find<IConnectionMetricsTagsFeature>()?.Tags.Add(HalfCloseMetrics.OutcomeTag(outcome));
        }

        _transportRegistration.Dispose();
        _connection.ConnectionClosed = _transportClosed;
        _connection.Transport = _transport;
        if (_output is { HandedOver: false })
        {
            // Kestrel completed the send path, not the transport's output (unless the close is the transport's already): the
            // transport's own close (its send loop shuts the socket down) begins now, while Kestrel finishes with the connection.
            _transport.Output.Complete();
        }

        _telemetry.Ended();
        SignalClosed();
        if (t_headTaken == this)
        {
            // A head no request took (Kestrel answered it 400, say): the thread lets go of the connection as it ends.
            t_headTaken = null;
        }

        // Closed under the lock above: nothing of this connection's sends through it any more.
        _output?.Return();
    }

    /// <inheritdoc/>
    bool ISendPathOwner.TryHandOverClose()
    {
        // Only when no reason to linger can come: the input's end is settled (the client's FIN, say), or the last request's
        // client said it sends nothing more (no body left unread) and nothing is left unread at all. The transport's send
        // loop then sends FIN and closes at once, as it would without the policy. The socket's buffer is not asked (a
        // system call): such a client sends nothing more.
        if (_input.End == InputEnd.None && (Facts != RequestFacts.ClientCloses || !_input.HoldsNothingUnread()))
        {
            return false;
        }

        _transport.Output.Complete();
        return true;
    }

    /// <summary>The effects of the input's end, on the thread pool (<see cref="OnInputEnded"/> may run inside Kestrel's read).</summary>
    void IThreadPoolWorkItem.Execute() => Act(new Transition(_inputEndEffects));

    private void OnTransportClosed()
    {
        // Kestrel is done reading (it closes the connection, the client answered): nothing waits for the input's end.
        if (_input.IsReaderDone)
        {
            return;
        }

        // Most often Kestrel is not reading (a request's FIN, right behind it): a look settles the end at once, and the
        // connection goes straight to what it means. Only an end the look cannot reach waits, bounded, for the reader.
        try
        {
            _input.Probe();
        }
        catch (Exception ex)
        {
            // A bug: Kestrel gets the connection as it would without the policy.
            _telemetry.UnexpectedError(ex);
            SignalClosed();
            return;
        }

        if (_input.End == InputEnd.None)
        {
            Run(static (ref machine, now, _) => machine.TransportClosed(now));
        }
    }

    private void OnTimer()
    {
        // Nobody reads a half-open socket: its TCP state shows a later reset. Only then: the portable watch reads (and so
        // clears) the socket's pending error, which a transport still receiving must see itself. Once the server's FIN is
        // out (or the transport was handed the close), both ends are done.
        var resetSeen = IsHalfOpen() && _output is not ({ FinSent: true } or { HandedOver: true }) && HalfClosePolicy.ShowsReset(_shared.SocketState(_socket));
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
            lock (Gate)
            {
                var (from, since) = (_machine.State, _machine.Since);
                transition = Step(from, since, @event(ref _machine, now, argument), now);
            }

            Act(transition);
        }
        catch (Exception ex)
        {
            _telemetry.UnexpectedError(ex);
            SignalClosed();
        }
    }

    /// <summary>
    /// Under the lock, after the machine left <paramref name="from"/> (where it had waited since <paramref name="since"/>):
    /// the transition's telemetry, and the timer for its next wake (none once closed).
    /// </summary>
    private Transition Step(ConnectionState from, TimeSpan since, Transition transition, TimeSpan now)
    {
        if (transition.Has(ConnectionEffects.SignalHalfClosed))
        {
            _finServed = true;
        }

        _telemetry.Transitioned(from, now - since, _machine, transition);
        if (_machine.State == ConnectionState.Closed)
        {
            _timer.Stop();
        }
        else if (transition.Wake is { } wake)
        {
            _timer.Arm(wake - now, _shared.Time, static state => ((HalfCloseConnection)state!).OnTimer(), this);
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

    /// <summary>The time on the endpoint's clock (<see cref="HalfCloseContext.Now"/>): only differences between two readings count.</summary>
    private TimeSpan Now() => _shared.Now();

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
