namespace HalfClose.Kestrel.Internal;

/// <summary>How a lingering close ended.</summary>
internal enum LingerEnd
{
    /// <summary>The client closed its side: a clean close.</summary>
    ClientClosed,

    /// <summary><c>LingerTime</c> passed: closed with RST.</summary>
    TimeLimit,

    /// <summary>Nothing arrived for <c>LingerTimeout</c>: closed with RST.</summary>
    IdleLimit,

    /// <summary>More than <c>LingerMaxBytes</c> arrived: closed with RST.</summary>
    ByteLimit,

    /// <summary>The client reset the connection, or the server aborted it.</summary>
    Reset,

    /// <summary>Not drained: <c>Linger</c> is <c>Reject</c>, closed with RST at once.</summary>
    Rejected,
}
