using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// One HTTP/1.x connection under the policy. It stands between the transport's <c>ConnectionClosed</c> token,
/// which the socket transport cancels on FIN and on reset alike, and the token Kestrel registers on: only a
/// real close (reset, server close, half-open timeout, or a FIN the policy aborts) reaches Kestrel.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token sources own no timer or wait handle; a late cancel must not race a dispose.")]
internal sealed partial class HalfCloseConnection : IInputEndListener
{
    private const int Open = 0;
    private const int HalfOpen = 1;
    private const int Forwarded = 2;
    private const int Completed = 3;

    private static readonly ReadOnlyMemory<byte> Http2Alpn = "h2"u8.ToArray();

    private readonly ConnectionContext _connection;
    private readonly Socket _socket;
    private readonly HalfCloseContext _shared;
    private readonly CancellationToken _transportClosed;
    private readonly IDuplexPipe _transport;
    private readonly HalfCloseInput _input;
    private readonly HalfCloseOutput? _output;
    private readonly CancellationTokenSource _closed = new();
    private readonly Lock _lock = new();
    private CancellationTokenRegistration _transportRegistration;
    private volatile HalfClosePolicy _policy;
    private int _state;

    public HalfCloseConnection(ConnectionContext connection, Socket socket, HalfClosePolicy policy, HalfCloseContext shared)
    {
        _connection = connection;
        _socket = socket;
        _policy = policy;
        _shared = shared;
        _transportClosed = connection.ConnectionClosed;
        _transport = connection.Transport;

        // The send path is taken over only on the socket's own transport: above TLS the bytes are not the socket's.
        if (policy.Linger != LingerMode.Off && connection.Features.Get<ITlsConnectionFeature>() is null)
        {
            var pool = connection.Features.Get<IMemoryPoolFeature>()?.MemoryPool ?? System.Buffers.MemoryPool<byte>.Shared;
            _output = new HalfCloseOutput(socket, pool);
        }

        _input = new HalfCloseInput(_transport.Input, this, keepInnerOpen: _output is not null);
    }

    /// <summary>The policy in force; an endpoint's own middleware may replace the app-wide one before the first request.</summary>
    public HalfClosePolicy Policy
    {
        get => _policy;
        set => _policy = value;
    }

    internal static bool IsMultiplexed(ConnectionContext connection) =>
        connection.Features.Get<ITlsApplicationProtocolFeature>() is { } alpn && alpn.ApplicationProtocol.Span.SequenceEqual(Http2Alpn.Span);

    /// <summary>Takes Kestrel's <c>ConnectionClosed</c> and input over, and starts watching the transport's.</summary>
    public void Start()
    {
        _connection.ConnectionClosed = _closed.Token;
        _connection.Transport = new HalfCloseTransport(_transport, _input, _output);
        _output?.Start();
        _connection.Features.Set<IHalfCloseFeature>(this);
        _transportRegistration = _transportClosed.UnsafeRegister(
            static state => ((HalfCloseConnection)state!).OnTransportClosed(), this);
    }

    /// <summary>
    /// Kestrel is about to read the end of the input: the socket is still as the client left it, so its state is read
    /// now; the decision runs on the thread pool, as the transport's own close notification does.
    /// </summary>
    public void OnInputEnded()
    {
        var state = Volatile.Read(ref _state);
        if (state == Completed)
        {
            return;
        }

        NoteEnd(probed: null, fromInput: true);
        if (state == Open)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static connection => connection.OnTransportClosed(), this, preferLocal: false);
        }
    }

    /// <summary>The connection's middleware chain has finished and it is closed: stop watching and give the transport back.</summary>
    public void Complete()
    {
        var previous = Leave(Completed);
        _transportRegistration.Dispose();
        _connection.ConnectionClosed = _transportClosed;
        _connection.Transport = _transport;
        if (previous == HalfOpen && (_abortedAfterFin || _output?.Failed == true))
        {
            // The client reset while its response was written: the send failed before the watch saw the reset.
            HalfCloseLog.ResetWhileHalfOpen(_shared.Logger, _connection.ConnectionId);
            EndHalfOpen(HalfCloseOutcome.Reset);
        }
        else if (previous == HalfOpen)
        {
            HalfCloseLog.ServedAfterFin(_shared.Logger, _connection.ConnectionId, HalfOpenFor().TotalMilliseconds);
            EndHalfOpen(_action == FinAction.ServeInFlightOnly ? HalfCloseOutcome.Discarded : HalfCloseOutcome.Served);
        }

        RecordClientFin();
        SignalClosed();
    }

    private void OnTransportClosed()
    {
        try
        {
            if (Volatile.Read(ref _state) != Open)
            {
                return;
            }

            if (!IsEndNoted())
            {
                var state = TcpStateProbe.Read(_socket);
                if (HalfClosePolicy.Classify(state, ServerFinSentEarly) == TransportEnd.Closed)
                {
                    Forward();
                    return;
                }

                if (_input.IsAwaitingData)
                {
                    // The pending read is about to show the end: the input path notes it, with what was left unread.
                    return;
                }

                NoteEnd(state, fromInput: false);
            }

            if (!EndIsClientFin())
            {
                Forward();
                return;
            }

            var action = _policy.OnClientFin(_isTls, IsMultiplexed(_connection), EndpointClientFin());
            switch (action)
            {
                case FinAction.Bypass:
                    HalfCloseLog.Bypassed(_shared.Logger, _connection.ConnectionId);
                    SetOutcome(HalfCloseOutcome.Bypassed);
                    Forward();
                    break;
                case FinAction.Abort:
                    HalfCloseLog.AbortedOnFin(_shared.Logger, _connection.ConnectionId);
                    SetOutcome(HalfCloseOutcome.Aborted);
                    Forward();
                    break;
                default:
                    BeginHalfOpen(action);
                    Interlocked.MemoryBarrier();
                    AbortIfEndpointSaysSo();
                    break;
            }
        }
        catch (Exception ex)
        {
            HalfCloseLog.UnexpectedError(_shared.Logger, _connection.ConnectionId, ex);
            Forward();
        }
    }

    /// <summary>Tells Kestrel the connection is closed, once (false: it was already); <paramref name="outcome"/> ends a half-open period.</summary>
    private bool Forward(HalfCloseOutcome outcome = HalfCloseOutcome.Aborted)
    {
        var previous = Leave(Forwarded);
        if (previous >= Forwarded)
        {
            return false;
        }

        if (previous == HalfOpen)
        {
            EndHalfOpen(outcome);
        }

        SignalClosed();
        return true;
    }

    /// <summary>Moves to a later state and stops the watch; returns the state it left.</summary>
    private int Leave(int state)
    {
        lock (_lock)
        {
            var previous = _state;
            if (previous < state)
            {
                _state = state;
                _watch?.Dispose();
                _watch = null;
                _sendShutdownWatch?.Dispose();
            }

            return previous;
        }
    }

    private void SignalClosed()
    {
        try
        {
            _closed.Cancel();
        }
        catch (AggregateException ex)
        {
            HalfCloseLog.UnexpectedError(_shared.Logger, _connection.ConnectionId, ex);
        }
    }
}
