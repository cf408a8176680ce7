namespace HalfClose.Kestrel;

/// <summary>
/// TCP half-close state of a connection. Set on the connection's features by the half-close policy and
/// reachable from <c>HttpContext.Features</c> as well.
/// </summary>
public interface IHalfCloseFeature
{
    /// <summary>
    /// Whether TCP half-close applies to this connection: false for HTTP/2 (ALPN <c>h2</c> or h2c prior knowledge) and
    /// for transports that are not TCP sockets (a Unix socket, a named pipe). True on every OS for HTTP/1.x over TCP.
    /// </summary>
    bool IsSupported { get; }

    /// <summary>Whether the client has half-closed (sent FIN) and the policy is serving the connection.</summary>
    bool IsClientHalfClosed { get; }

    /// <summary>A token that fires when the client half-closes and the policy keeps serving the connection.</summary>
    CancellationToken ClientHalfClosed { get; }

    /// <summary>
    /// Ends the server's direction of an upgraded (opaque, e.g. WebSocket) connection while the client's stays open: FIN
    /// goes to the client after every byte written and flushed before the call, and the client's bytes still arrive. The
    /// client then has <see cref="HalfClosePolicyOptions.HalfOpenTimeout"/> to end its side; after that the connection is
    /// closed with RST. Bytes written after the call are discarded.
    /// </summary>
    /// <param name="cancellationToken">Stops the wait for the FIN to be sent (the FIN may still go out).</param>
    /// <returns>
    /// True once the FIN is sent. False, with nothing sent, where the policy does not own the connection's send path:
    /// TLS (a TCP FIN without TLS close_notify reads as a truncation), <c>Linger</c> <c>Off</c>, HTTP/2, a closed
    /// connection, or a request in flight that was not upgraded (101).
    /// </returns>
    ValueTask<bool> ShutdownSendAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(false);
}
