namespace HalfClose.Kestrel;

/// <summary>How the server closes a connection when it closes first and the client may still be sending.</summary>
public enum LingerMode
{
    /// <summary>
    /// Lingering close: after the last response byte, send FIN, then read and discard what the client still sends,
    /// bounded by <see cref="HalfClosePolicyOptions.LingerTime"/>, <see cref="HalfClosePolicyOptions.LingerTimeout"/> and
    /// <see cref="HalfClosePolicyOptions.LingerMaxBytes"/>; then close. The client reads the whole response instead of a reset.
    /// </summary>
    Drain = 0,

    /// <summary>Close at once with RST (linger 0) when the client may still be sending: the socket is freed now.</summary>
    Reject = 1,

    /// <summary>Kestrel's own behaviour: close both directions at once; unread bytes turn the close into a reset.</summary>
    Off = 2,
}
