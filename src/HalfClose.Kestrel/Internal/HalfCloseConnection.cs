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
internal sealed class HalfCloseConnection : IHalfCloseFeature
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

    private readonly CancellationTokenSource _closed = new();
    private readonly Lock _lock = new();
    private CancellationTokenRegistration _transportRegistration;
    private CancellationTokenSource? _halfClosedSource;
    private ITimer? _watch;
    private volatile HalfClosePolicy _policy;
    private volatile bool _clientHalfClosed;
    private long _halfClosedAt;
    private int _state;

    public HalfCloseConnection(ConnectionContext connection, Socket socket, HalfClosePolicy policy, HalfCloseContext shared)
    {
        _connection = connection;
        _socket = socket;
        _policy = policy;
        _shared = shared;
        _transportClosed = connection.ConnectionClosed;
        _transport = connection.Transport;
    }

    /// <summary>The policy in force; an endpoint's own middleware may replace the app-wide one before the first request.</summary>
    public HalfClosePolicy Policy
    {
        get => _policy;
        set => _policy = value;
    }

    public bool IsSupported => !IsMultiplexed(_connection);

    public bool IsClientHalfClosed => _clientHalfClosed;

    public CancellationToken ClientHalfClosed
    {
        get
        {
            if (_clientHalfClosed)
            {
                return new CancellationToken(canceled: true);
            }

            var source = _halfClosedSource ?? Interlocked.CompareExchange(ref _halfClosedSource, new(), null) ?? _halfClosedSource;

            // The FIN may have been seen between the first check and the source's creation.
            return _clientHalfClosed ? new CancellationToken(canceled: true) : source.Token;
        }
    }

    /// <summary>Takes Kestrel's <c>ConnectionClosed</c> and input over, and starts watching the transport's.</summary>
    public void Start()
    {
        _connection.ConnectionClosed = _closed.Token;
        _connection.Transport = new HalfCloseTransport(_transport);
        _connection.Features.Set<IHalfCloseFeature>(this);
        _transportRegistration = _transportClosed.UnsafeRegister(
            static state => ((HalfCloseConnection)state!).OnTransportClosed(), this);
    }

    /// <summary>The connection's middleware chain has finished: stop watching and give the transport's token back.</summary>
    public void Complete()
    {
        int previous;
        lock (_lock)
        {
            previous = _state;
            _state = Completed;
            _watch?.Dispose();
            _watch = null;
        }

        _transportRegistration.Dispose();
        _connection.ConnectionClosed = _transportClosed;
        _connection.Transport = _transport;
        if (previous == HalfOpen)
        {
            HalfCloseLog.ServedAfterFin(_shared.Logger, _connection.ConnectionId, HalfOpenFor().TotalMilliseconds);
        }

        SignalClosed();
    }

    internal static bool IsMultiplexed(ConnectionContext connection) =>
        connection.Features.Get<ITlsApplicationProtocolFeature>() is { } alpn && alpn.ApplicationProtocol.Span.SequenceEqual(Http2Alpn.Span);

    private bool IsTls => _connection.Features.Get<ITlsConnectionFeature>() is not null;

    private TimeSpan HalfOpenFor() => _shared.Time.GetElapsedTime(Interlocked.Read(ref _halfClosedAt));

    private void OnTransportClosed()
    {
        try
        {
            if (Volatile.Read(ref _state) != Open)
            {
                return;
            }

            if (HalfClosePolicy.Classify(TcpStateProbe.Read(_socket)) == TransportEnd.Closed)
            {
                Forward();
                return;
            }

            var action = _policy.OnClientFin(IsTls, IsMultiplexed(_connection));
            switch (action)
            {
                case FinAction.Bypass:
                    HalfCloseLog.Bypassed(_shared.Logger, _connection.ConnectionId);
                    Forward();
                    break;
                case FinAction.Abort:
                    HalfCloseLog.AbortedOnFin(_shared.Logger, _connection.ConnectionId);
                    Forward();
                    break;
                default:
                    BeginHalfOpen(action);
                    break;
            }
        }
        catch (Exception ex)
        {
            HalfCloseLog.UnexpectedError(_shared.Logger, _connection.ConnectionId, ex);
            Forward();
        }
    }

    private void BeginHalfOpen(FinAction action)
    {
        lock (_lock)
        {
            if (_state != Open)
            {
                return;
            }

            _state = HalfOpen;
            Interlocked.Exchange(ref _halfClosedAt, _shared.Time.GetTimestamp());
            var firstCheck = _policy.NextCheck(TimeSpan.Zero, HalfCloseContext.ResetCheckInterval);
            _watch = _shared.Time.CreateTimer(static state => ((HalfCloseConnection)state!).Check(), this, firstCheck, Timeout.InfiniteTimeSpan);
        }

        _clientHalfClosed = true;
        HalfCloseLog.ClientHalfClosed(_shared.Logger, _connection.ConnectionId, action);
        Volatile.Read(ref _halfClosedSource)?.Cancel();
        if (action == FinAction.ServeInFlightOnly)
        {
            // Kestrel finishes the request in flight (with Connection: close) and reads no further request.
            _connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        }
    }

    private void Check()
    {
        try
        {
            if (Volatile.Read(ref _state) != HalfOpen)
            {
                return;
            }

            if (HalfClosePolicy.Classify(TcpStateProbe.Read(_socket)) == TransportEnd.Closed)
            {
                HalfCloseLog.ResetWhileHalfOpen(_shared.Logger, _connection.ConnectionId);
                Forward();
                return;
            }

            var policy = _policy;
            var next = policy.NextCheck(HalfOpenFor(), HalfCloseContext.ResetCheckInterval);
            if (next == TimeSpan.Zero)
            {
                HalfCloseLog.HalfOpenTimedOut(_shared.Logger, _connection.ConnectionId, policy.HalfOpenTimeout);

                // Abort with a reason first: the socket transport then closes with RST and frees the socket now.
                _connection.Abort(new ConnectionAbortedException("The connection stayed half-closed longer than HalfClose:HalfOpenTimeout."));
                Forward();
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
            Forward();
        }
    }

    /// <summary>Tells Kestrel the connection is closed, once.</summary>
    private void Forward()
    {
        lock (_lock)
        {
            if (_state is Forwarded or Completed)
            {
                return;
            }

            _state = Forwarded;
            _watch?.Dispose();
            _watch = null;
        }

        SignalClosed();
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
