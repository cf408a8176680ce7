namespace HalfClose.Kestrel.Internal;

/// <summary>What a transition asks the connection to do; the state machine itself does no I/O.</summary>
[Flags]
internal enum ConnectionEffects
{
    None = 0,

    /// <summary>Fire <see cref="IHalfCloseFeature.ClientHalfClosed"/>.</summary>
    SignalHalfClosed = 1,

    /// <summary>Ask Kestrel to finish the request in flight and read no further (<c>PipelinedRequests: Discard</c>).</summary>
    RequestClose = 2,

    /// <summary>Cancel the <c>ConnectionClosed</c> token Kestrel registered on: the connection is closed for it.</summary>
    TellKestrel = 4,

    /// <summary>Close with RST now, because a bound was hit.</summary>
    Abort = 8,

    /// <summary>Look at the input again for how it ended.</summary>
    Probe = 16,
}
