using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Reads a half-open connection's TCP state with the OS's own facility where there is one, and falls back, for the whole
/// process, to a peek receive the first time that facility is refused (a sandbox, an old kernel, another OS).
/// </summary>
internal sealed class SocketWatcher(SocketWatch watch)
{
    private const int IpProtoTcp = 6;
    private const int LinuxTcpInfo = 11;
    private const int MacOSTcpConnectionInfo = 0x106;
    private const int WindowsSioTcpInfo = unchecked((int)0xD8000027);

    private volatile int _watch = (int)watch;
    private int _announced;

    /// <summary>The one for this OS, shared by every endpoint that is given no other.</summary>
    public static SocketWatcher Native { get; } = new(
        OperatingSystem.IsLinux() ? SocketWatch.LinuxTcpInfo
        : OperatingSystem.IsWindows() ? SocketWatch.WindowsSioTcpInfo
        : OperatingSystem.IsMacOS() ? SocketWatch.MacOSTcpConnectionInfo
        : SocketWatch.Peek);

    public SocketWatch Watch => (SocketWatch)_watch;

    /// <summary>Whether the policy can watch this connection: a TCP socket, on any OS.</summary>
    public static bool CanWatch(Socket? socket) => socket is { ProtocolType: ProtocolType.Tcp };

    /// <summary>Says once, at start, what is in force: FIN and reset from the input, and this watch.</summary>
    public void Announce(ILogger logger)
    {
        if (Interlocked.Exchange(ref _announced, 1) == 0)
        {
            HalfCloseLog.MechanismInForce(logger, Watch);
        }
    }

    /// <summary>The socket's state; <see cref="TcpState.Unknown"/> when it cannot be told; <see cref="TcpState.Disposed"/> once the transport disposed it.</summary>
    public TcpState Read(Socket? socket, ILogger logger)
    {
        if (socket is null)
        {
            return TcpState.Unknown;
        }

        try
        {
            var watch = Watch;
            return watch == SocketWatch.Peek ? Peek(socket) : ReadNative(socket, watch);
        }
        catch (ObjectDisposedException)
        {
            return TcpState.Disposed;
        }
        catch (SocketException ex) when (Watch != SocketWatch.Peek)
        {
            // The OS facility is refused here: from now on, every connection is watched the portable way.
            _watch = (int)SocketWatch.Peek;
            HalfCloseLog.WatchFellBack(logger, ex.SocketErrorCode.ToString(), SocketWatch.Peek);
            return Read(socket, logger);
        }
        catch (SocketException)
        {
            return TcpState.Unknown;
        }
    }

    private static TcpState ReadNative(Socket socket, SocketWatch watch)
    {
        Span<byte> info = stackalloc byte[8];
        switch (watch)
        {
            case SocketWatch.LinuxTcpInfo:
                // The kernel copies no more of struct tcp_info than is asked for.
                return TcpStates.FromLinuxTcpInfo(info[..socket.GetRawSocketOption(IpProtoTcp, LinuxTcpInfo, info)]);
            case SocketWatch.MacOSTcpConnectionInfo:
                return TcpStates.FromMacOSConnectionInfo(info[..socket.GetRawSocketOption(IpProtoTcp, MacOSTcpConnectionInfo, info)]);
            default:
                // TCP_INFO_v0 is 88 bytes; version 0 is asked for with a zero DWORD in.
                var output = new byte[128];
                var length = socket.IOControl(WindowsSioTcpInfo, new byte[4], output);
                return TcpStates.FromWindowsTcpInfoV0(output.AsSpan(0, length));
        }
    }

    /// <summary>
    /// The socket's pending error (<c>SO_ERROR</c>), then a zero-wait poll and a one-byte peek. Linux reports a reset that
    /// follows a FIN only as the pending error (its receive keeps returning 0); Windows reports it to the receive; BSD both.
    /// </summary>
    internal static TcpState Peek(Socket socket)
    {
        if (socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error) is int error and not 0)
        {
            return TcpState.Close;
        }

        if (!socket.Poll(0, SelectMode.SelectRead))
        {
            // Not readable: the FIN that made the connection half-open cannot have arrived; nothing to tell.
            return TcpState.Unknown;
        }

        Span<byte> one = stackalloc byte[1];
        var received = socket.Receive(one, SocketFlags.Peek, out var receiveError);
        return receiveError switch
        {
            SocketError.Success => received == 0 ? TcpState.CloseWait : TcpState.Established,
            SocketError.WouldBlock or SocketError.Interrupted => TcpState.Unknown,
            _ => TcpState.Close,
        };
    }
}
