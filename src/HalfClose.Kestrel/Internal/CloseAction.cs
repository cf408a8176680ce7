namespace HalfClose.Kestrel.Internal;

/// <summary>How the connection's socket is closed when the server is done with it.</summary>
internal enum CloseAction
{
    /// <summary>The transport's own close: nothing is left to read, or the policy is off.</summary>
    Close,

    /// <summary>FIN, then read and discard within the linger bounds, then close.</summary>
    Drain,

    /// <summary>RST now.</summary>
    Reset,
}
