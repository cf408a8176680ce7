namespace HalfClose.Kestrel.Internal;

/// <summary>How a client's FIN ended.</summary>
internal enum HalfCloseOutcome
{
    /// <summary>Served after the FIN: the request in flight and the pipelined ones, then a close.</summary>
    Served,

    /// <summary>Served the request in flight only; pipelined requests were discarded.</summary>
    Discarded,

    /// <summary>Aborted by policy (Kestrel's own behaviour).</summary>
    Aborted,

    /// <summary>Half-open longer than the half-open timeout: closed, request aborted.</summary>
    TimedOut,

    /// <summary>Reset by the client while half-open: request aborted.</summary>
    Reset,

    /// <summary>A multiplexed protocol (HTTP/2): TCP half-close does not apply.</summary>
    Bypassed,
}
