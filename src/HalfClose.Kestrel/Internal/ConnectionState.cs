namespace HalfClose.Kestrel.Internal;

/// <summary>Where one HTTP/1.x connection under the policy stands. Moves forward only.</summary>
internal enum ConnectionState : byte
{
    /// <summary>Both directions open; nothing is waited for.</summary>
    Open,

    /// <summary>
    /// The transport says it closed, and how the input ended is not settled yet (a TLS layer above the policy lags behind
    /// the socket). Probed until it is, bounded by <c>HalfOpenTimeout</c>.
    /// </summary>
    Ending,

    /// <summary>The client sent FIN and the policy serves on: watched for a reset, bounded by <c>HalfOpenTimeout</c>.</summary>
    HalfOpen,

    /// <summary>The server's FIN went first (an upgraded connection): the client has <c>HalfOpenTimeout</c> to end its side.</summary>
    SendShutDown,

    /// <summary>Kestrel has been told the connection is closed, or the connection is done.</summary>
    Closed,
}
