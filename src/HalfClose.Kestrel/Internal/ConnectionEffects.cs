namespace HalfClose.Kestrel.Internal;

/// <summary>What a transition asks the connection to do; the state machine itself does no I/O.</summary>
[Flags]
internal enum ConnectionEffects
{
    None = 0,

    /// <summary>Fire <see cref="IHalfCloseFeature.ClientHalfClosed"/>.</summary>
    SignalHalfClosed = 1,

    /// <summary>
    /// Ask Kestrel to finish the request in flight and read no further (<c>PipelinedRequests: Discard</c>). Carried out where
    /// the input's end is decided, before anyone learns of the FIN, and only once Kestrel has begun reading (<see cref="CloseGate"/>).
    /// </summary>
    RequestClose = 2,

    /// <summary>Cancel the <c>ConnectionClosed</c> token Kestrel registered on: the connection is closed for it.</summary>
    TellKestrel = 4,

    /// <summary>Close with RST now, because a bound was hit.</summary>
    Abort = 8,

    /// <summary>Look at the input again for how it ended.</summary>
    Probe = 16,
}
