using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The server ends its direction first, on an upgraded connection (a tunnel whose destination sent its FIN): FIN to the
/// client after the last byte, the client's bytes still read, and the wait for the client's end bounded by HalfOpenTimeout.
/// </summary>
internal sealed partial class HalfCloseConnection
{
    private ITimer? _sendShutdownWatch;
    private volatile bool _sendShutDown;

    /// <summary>
    /// Whether the application ended the server's direction before it was done (<see cref="ShutdownSendAsync"/>): the
    /// client's FIN then finds the socket past CLOSE-WAIT.
    /// </summary>
    private bool ServerFinSentEarly => _sendShutDown;

    public async ValueTask<bool> ShutdownSendAsync(CancellationToken cancellationToken = default)
    {
        if (_output is null || Volatile.Read(ref _state) >= Forwarded || !InFlightRequestIsUpgraded())
        {
            return false;
        }

        // Set before the FIN can go out: the client's FIN that answers it must not read as a reset.
        _sendShutDown = true;
        if (!await _output.ShutdownSendAsync().WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var timeout = _policy.HalfOpenTimeout;
        lock (_lock)
        {
            if (_state < Forwarded && _sendShutdownWatch is null)
            {
                _sendShutdownWatch = _shared.Time.CreateTimer(
                    static state => ((HalfCloseConnection)state!).OnSendShutdownTimeout(), this, timeout, Timeout.InfiniteTimeSpan);
            }
        }

        return true;
    }

    /// <summary>Whether the request in flight, if the request middleware tells, was answered with 101 (the connection is opaque now).</summary>
    private bool InFlightRequestIsUpgraded()
    {
        if (Volatile.Read(ref _request) is not { } request)
        {
            return true;
        }

        try
        {
            return request.Response is { StatusCode: StatusCodes.Status101SwitchingProtocols, HasStarted: true };
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>The client has not ended its side within HalfOpenTimeout of the server's FIN: the connection is cut.</summary>
    private void OnSendShutdownTimeout()
    {
        try
        {
            if (_input.EndSeen || IsEndNoted() || Volatile.Read(ref _state) >= Forwarded)
            {
                // The client ended its side meanwhile (a FIN is then watched as any other), or the connection is closed.
                return;
            }

            var timeout = _policy.HalfOpenTimeout;
            HalfCloseLog.HalfOpenTimedOut(_shared.Logger, _connection.ConnectionId, timeout);
            _connection.Abort(new ConnectionAbortedException("The client did not end its side within HalfClose:HalfOpenTimeout of the server's FIN."));
            Forward();
        }
        catch (Exception ex)
        {
            HalfCloseLog.UnexpectedError(_shared.Logger, _connection.ConnectionId, ex);
            Forward();
        }
    }
}
