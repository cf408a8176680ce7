namespace HalfClose.Kestrel.Internal;

/// <summary>How a half-open connection's socket is watched for a later reset (nobody reads it after the client's FIN).</summary>
internal enum SocketWatch
{
    /// <summary>Linux: <c>getsockopt(IPPROTO_TCP, TCP_INFO)</c>, <c>tcpi_state</c>.</summary>
    LinuxTcpInfo,

    /// <summary>Windows: <c>WSAIoctl(SIO_TCP_INFO)</c>, <c>TCP_INFO_v0.State</c>.</summary>
    WindowsSioTcpInfo,

    /// <summary>macOS: <c>getsockopt(IPPROTO_TCP, TCP_CONNECTION_INFO)</c>, <c>tcpi_state</c>.</summary>
    MacOSTcpConnectionInfo,

    /// <summary>
    /// Anywhere: the socket's pending error (<c>SO_ERROR</c>), then a zero-wait poll and a one-byte peek receive. After the
    /// client's FIN the peek returns 0 while the FIN stands; a later reset shows as the pending error or the peek's error.
    /// </summary>
    Peek,
}
