using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using HalfClose.Kestrel.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// Watching a half-open socket for a later reset: each OS's reading against its documented layout, and on this machine
/// (Linux) the native reading, the portable peek, and the fall-back from a facility the OS refuses, on real sockets.
/// </summary>
public sealed class SocketWatchTests
{
    [Theory]
    [InlineData(0, (byte)TcpState.Close)]
    [InlineData(1, (byte)TcpState.Listen)]
    [InlineData(2, (byte)TcpState.SynSent)]
    [InlineData(3, (byte)TcpState.SynReceived)]
    [InlineData(4, (byte)TcpState.Established)]
    [InlineData(5, (byte)TcpState.FinWait1)]
    [InlineData(6, (byte)TcpState.FinWait2)]
    [InlineData(7, (byte)TcpState.CloseWait)]
    [InlineData(8, (byte)TcpState.Closing)]
    [InlineData(9, (byte)TcpState.LastAck)]
    [InlineData(10, (byte)TcpState.TimeWait)]
    [InlineData(11, (byte)TcpState.Unknown)]
    public void Windows_TcpInfoV0_StateIsTheFirst32BitMember(int tcpState, byte expected)
    {
        // TCP_INFO_v0: TCPSTATE State; ULONG Mss; ULONG64 ConnectionTimeMs; BOOLEAN TimestampsEnabled; ... 88 bytes in all.
        var info = new byte[88];
        BinaryPrimitives.WriteInt32LittleEndian(info, tcpState);
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(4), 1460);
        BinaryPrimitives.WriteUInt64LittleEndian(info.AsSpan(8), 123_456);
        info[16] = 1;

        Assert.Equal((TcpState)expected, TcpStates.FromWindowsTcpInfoV0(info));
    }

    [Theory]
    [InlineData(0, (byte)TcpState.Close)]
    [InlineData(1, (byte)TcpState.Listen)]
    [InlineData(2, (byte)TcpState.SynSent)]
    [InlineData(3, (byte)TcpState.SynReceived)]
    [InlineData(4, (byte)TcpState.Established)]
    [InlineData(5, (byte)TcpState.CloseWait)]
    [InlineData(6, (byte)TcpState.FinWait1)]
    [InlineData(7, (byte)TcpState.Closing)]
    [InlineData(8, (byte)TcpState.LastAck)]
    [InlineData(9, (byte)TcpState.FinWait2)]
    [InlineData(10, (byte)TcpState.TimeWait)]
    [InlineData(11, (byte)TcpState.Unknown)]
    public void MacOS_TcpConnectionInfo_StateIsTheFirstByte_InBsdNumbering(byte tcpsState, byte expected)
    {
        // struct tcp_connection_info: u_int8_t tcpi_state, tcpi_snd_wscale, tcpi_rcv_wscale, __pad1; u_int32_t tcpi_options; ... 112 bytes.
        var info = new byte[112];
        info[0] = tcpsState;
        info[1] = 7;
        info[2] = 9;
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(4), 0x7);

        Assert.Equal((TcpState)expected, TcpStates.FromMacOSConnectionInfo(info));
    }

    [Theory]
    [InlineData(8, (byte)TcpState.CloseWait)]
    [InlineData(1, (byte)TcpState.Established)]
    [InlineData(7, (byte)TcpState.Close)]
    [InlineData(0, (byte)TcpState.Unknown)]
    [InlineData(12, (byte)TcpState.Unknown)]
    public void Linux_TcpInfo_StateIsTheFirstByte(byte tcpiState, byte expected) =>
        Assert.Equal((TcpState)expected, TcpStates.FromLinuxTcpInfo([tcpiState, 0, 0, 0, 0, 0, 0, 0]));

    [Fact]
    public void ShortOrEmptyReadings_Unknown()
    {
        Assert.Equal(TcpState.Unknown, TcpStates.FromWindowsTcpInfoV0([7, 0]));
        Assert.Equal(TcpState.Unknown, TcpStates.FromMacOSConnectionInfo([]));
        Assert.Equal(TcpState.Unknown, TcpStates.FromLinuxTcpInfo([]));
    }

    [Theory]
    [InlineData((int)SocketWatch.LinuxTcpInfo)]
    [InlineData((int)SocketWatch.Peek)]
    public async Task HalfOpenSocket_CloseWaitWhileTheFinStands_ClosedOnceTheClientResets(int watchValue)
    {
        var watch = (SocketWatch)watchValue;
        var watcher = new SocketWatcher(watch);
        var (server, client) = await ConnectedPairAsync();
        using (server)
        {
            // Established with nothing to read: the native reading says so; the peek, which needs the socket readable, says nothing.
            Assert.Equal(watch == SocketWatch.Peek ? TcpState.Unknown : TcpState.Established, watcher.Read(server, new FakeLogger()));
            client.Shutdown(SocketShutdown.Send);
            await WaitForAsync(() => watcher.Read(server, new FakeLogger()) == TcpState.CloseWait);

            client.LingerState = new LingerOption(true, 0);
            client.Close();
            await WaitForAsync(() => watcher.Read(server, new FakeLogger()) is TcpState.Close);
        }

        Assert.Equal(TcpState.Disposed, watcher.Read(server, new FakeLogger()));
    }

    [Fact]
    public async Task FacilityRefusedByTheOs_FallsBackToPeek_Once_Warned()
    {
        // TCP_CONNECTION_INFO is macOS's: Linux refuses it (ENOPROTOOPT), as an OS or sandbox without TCP_INFO would.
        var watcher = new SocketWatcher(OperatingSystem.IsMacOS() ? SocketWatch.LinuxTcpInfo : SocketWatch.MacOSTcpConnectionInfo);
        var log = new FakeLogger();
        var (server, client) = await ConnectedPairAsync();
        using var _ = server;
        using var __ = client;
        client.Shutdown(SocketShutdown.Send);

        await WaitForAsync(() => watcher.Read(server, log) == TcpState.CloseWait);

        Assert.Equal(SocketWatch.Peek, watcher.Watch);
        Assert.Single(log.Collector.GetSnapshot(), entry => entry.Id.Name == "WatchFellBack");
    }

    [Fact]
    public async Task UnixSocketEndpoint_NotApplicable_WarnedOnce_ConnectionsPassedThrough()
    {
        var path = Path.Combine(Path.GetTempPath(), $"halfclose-{Guid.NewGuid():N}.sock");
        var probe = new Infrastructure.Probe();
        var app = await Infrastructure.TestServers.StartOriginAsync(probe, null, withPolicy: false, kestrel =>
            kestrel.ListenUnixSocket(path, listen => Microsoft.AspNetCore.Hosting.HalfCloseListenOptionsExtensions.UseHalfClosePolicy(listen)));
        await using var _ = app;

        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token);
        await client.SendAsync("GET /feature HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray(), SocketFlags.None, timeout.Token);
        var buffer = new byte[4096];
        var text = new System.Text.StringBuilder();
        int read;
        while ((read = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            text.Append(System.Text.Encoding.Latin1.GetString(buffer, 0, read));
        }

        Assert.Contains("supported=False", text.ToString(), StringComparison.Ordinal);
        Assert.Single(app.Services.GetFakeLogCollector().GetSnapshot(), log => log.Id.Name == "NotApplicable" && log.Level == Microsoft.Extensions.Logging.LogLevel.Warning);
    }

    private static async Task<(Socket Server, Socket Client)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var accept = listener.AcceptAsync(timeout.Token);
        await client.ConnectAsync(listener.LocalEndPoint!, timeout.Token);
        return (await accept, client);
    }

    /// <summary>A TCP segment crosses loopback in microseconds; polled briefly, bounded.</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }
}
