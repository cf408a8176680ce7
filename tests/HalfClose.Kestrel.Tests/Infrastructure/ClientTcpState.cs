using System.Net.Sockets;
using HalfClose.Kestrel.Internal;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>A test client socket's TCP state, as Linux's TCP_INFO tells it (the suite's own assertions run on Linux).</summary>
public static class ClientTcpState
{
    internal static TcpState Read(Socket socket)
    {
        Span<byte> info = stackalloc byte[8];
        try
        {
            return TcpStates.FromLinuxTcpInfo(info[..socket.GetRawSocketOption(6, 11, info)]);
        }
        catch (ObjectDisposedException)
        {
            return TcpState.Disposed;
        }
    }
}
