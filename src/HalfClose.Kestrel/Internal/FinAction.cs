namespace HalfClose.Kestrel.Internal;

/// <summary>What the policy does when the client's FIN arrives.</summary>
internal enum FinAction
{
    /// <summary>Keep the send side open; answer the request in flight and the pipelined requests already received.</summary>
    Serve,

    /// <summary>Keep the send side open for the request in flight only, then close.</summary>
    ServeInFlightOnly,

    /// <summary>Tell Kestrel the connection is closed: today's behaviour.</summary>
    Abort,

    /// <summary>The connection is multiplexed (HTTP/2): TCP half-close does not apply; Kestrel decides.</summary>
    Bypass,
}
