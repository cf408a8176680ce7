using System.Net.Sockets;

namespace HalfClose.Kestrel.Internal;

/// <summary>Reads a connected socket's TCP state without touching its data (Linux <c>TCP_INFO</c>).</summary>
internal static class TcpStateProbe
{
    private const int IpProtoTcp = 6;
    private const int TcpInfo = 11;

    /// <summary>Whether the state of this socket can be read here.</summary>
    public static bool CanProbe(Socket? socket) =>
        socket is not null && OperatingSystem.IsLinux() && socket.ProtocolType == ProtocolType.Tcp;

    /// <summary>The socket's state; <see cref="TcpState.Disposed"/> once the transport has disposed it.</summary>
    public static TcpState Read(Socket socket)
    {
        // tcpi_state is the first byte of struct tcp_info; the kernel copies no more than we ask for.
        Span<byte> info = stackalloc byte[8];
        try
        {
            return socket.GetRawSocketOption(IpProtoTcp, TcpInfo, info) > 0 ? (TcpState)info[0] : TcpState.Unknown;
        }
        catch (ObjectDisposedException)
        {
            return TcpState.Disposed;
        }
        catch (SocketException)
        {
            return TcpState.Unknown;
        }
    }
}
