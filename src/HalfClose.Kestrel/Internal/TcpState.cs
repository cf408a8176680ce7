namespace HalfClose.Kestrel.Internal;

/// <summary>The kernel's TCP states (Linux <c>tcpi_state</c> numbering), plus two of our own.</summary>
internal enum TcpState : byte
{
    Unknown = 0,
    Established = 1,
    SynSent = 2,
    SynReceived = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,

    /// <summary>The socket was disposed: the transport has closed the connection.</summary>
    Disposed = 0xFF,
}
