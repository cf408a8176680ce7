using System.Buffers.Binary;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Each OS's own reading of a socket's TCP state, mapped onto <see cref="TcpState"/> (Linux numbering). Pure: the bytes
/// come from the OS (<see cref="SocketWatcher"/>), the layouts are the documented ones.
/// </summary>
internal static class TcpStates
{
    /// <summary>Linux <c>getsockopt(IPPROTO_TCP, TCP_INFO)</c>: <c>struct tcp_info</c>, <c>tcpi_state</c> the first byte.</summary>
    public static TcpState FromLinuxTcpInfo(ReadOnlySpan<byte> tcpInfo) =>
        tcpInfo.IsEmpty || tcpInfo[0] is 0 or > (byte)TcpState.Closing ? TcpState.Unknown : (TcpState)tcpInfo[0];

    /// <summary>
    /// Windows <c>WSAIoctl(SIO_TCP_INFO)</c>, version 0: <c>TCP_INFO_v0</c>, whose first member is the <c>TCPSTATE</c>
    /// enumeration (32 bits): CLOSED 0, LISTEN, SYN_SENT, SYN_RCVD, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT 7,
    /// CLOSING, LAST_ACK, TIME_WAIT 10.
    /// </summary>
    public static TcpState FromWindowsTcpInfoV0(ReadOnlySpan<byte> tcpInfo) =>
        tcpInfo.Length < 4 ? TcpState.Unknown : BinaryPrimitives.ReadInt32LittleEndian(tcpInfo) switch
        {
            0 => TcpState.Close,
            1 => TcpState.Listen,
            2 => TcpState.SynSent,
            3 => TcpState.SynReceived,
            4 => TcpState.Established,
            5 => TcpState.FinWait1,
            6 => TcpState.FinWait2,
            7 => TcpState.CloseWait,
            8 => TcpState.Closing,
            9 => TcpState.LastAck,
            10 => TcpState.TimeWait,
            _ => TcpState.Unknown,
        };

    /// <summary>
    /// macOS <c>getsockopt(IPPROTO_TCP, TCP_CONNECTION_INFO)</c>: <c>struct tcp_connection_info</c>, <c>tcpi_state</c>
    /// the first byte, in BSD's <c>TCPS_*</c> numbering: CLOSED 0, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT 5,
    /// FIN_WAIT_1, CLOSING, LAST_ACK, FIN_WAIT_2, TIME_WAIT 10.
    /// </summary>
    public static TcpState FromMacOSConnectionInfo(ReadOnlySpan<byte> connectionInfo) =>
        connectionInfo.IsEmpty ? TcpState.Unknown : connectionInfo[0] switch
        {
            0 => TcpState.Close,
            1 => TcpState.Listen,
            2 => TcpState.SynSent,
            3 => TcpState.SynReceived,
            4 => TcpState.Established,
            5 => TcpState.CloseWait,
            6 => TcpState.FinWait1,
            7 => TcpState.Closing,
            8 => TcpState.LastAck,
            9 => TcpState.FinWait2,
            10 => TcpState.TimeWait,
            _ => TcpState.Unknown,
        };
}
