namespace HalfClose.Kestrel;

/// <summary>
/// TCP half-close state of a connection. Set on the connection's features by the half-close policy and
/// reachable from <c>HttpContext.Features</c> as well.
/// </summary>
public interface IHalfCloseFeature
{
    /// <summary>
    /// Whether TCP half-close applies to this connection: false for HTTP/2 (ALPN <c>h2</c> or h2c prior knowledge),
    /// for transports that are not TCP sockets, and on platforms where the policy cannot observe the socket.
    /// </summary>
    bool IsSupported { get; }

    /// <summary>Whether the client has half-closed (sent FIN) and the policy is serving the connection.</summary>
    bool IsClientHalfClosed { get; }

    /// <summary>A token that fires when the client half-closes and the policy keeps serving the connection.</summary>
    CancellationToken ClientHalfClosed { get; }
}
