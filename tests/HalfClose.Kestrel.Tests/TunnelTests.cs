using System.Text;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// HTTP/1.1 upgrade tunnels (WebSocket-style) through the YARP sample: the client's half-close reaches the destination
/// after every byte before it, and the destination's bytes keep reaching the client until it closes. The origin runs the
/// policy too, so that it can answer after the FIN it receives.
/// </summary>
public sealed class TunnelTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static string Upgrade(string target) =>
        $"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

    private static Dictionary<string, string?> Policy(string timeout = "00:00:30") => new() { ["ClientFin"] = "Serve", ["HalfOpenTimeout"] = timeout };

    private static async Task<RawHttpClient> OpenTunnelAsync(TestServers servers, string target, string id)
    {
        var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(Upgrade(target));
        var head = await ReadHeadAsync(client);
        Assert.StartsWith("HTTP/1.1 101 ", head, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", head, StringComparison.Ordinal);
        await servers.Probe.Started(id).WaitAsync(Bound);
        return client;
    }

    /// <summary>Reads the 101 response's head byte by byte, leaving the tunnel's first bytes unread.</summary>
    private static async Task<string> ReadHeadAsync(RawHttpClient client)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        using var timeout = new CancellationTokenSource(Bound);
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await client.Socket.ReceiveAsync(one, System.Net.Sockets.SocketFlags.None, timeout.Token) == 0)
            {
                throw new InvalidOperationException($"The connection closed after: {head}");
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }

    [Fact]
    public async Task Tunnel_ClientSendsThenHalfCloses_DestinationGetsFinAndItsReplyReachesClient()
    {
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy(), originPolicy: true);
        await using var client = await OpenTunnelAsync(servers, "/ws?id=t", "t");

        await client.SendAsync("ping 1;");
        await client.SendAsync("ping 2;" + new string('x', 100_000));
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        await servers.Probe.InputEnded("t").WaitAsync(Bound);
        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal($"origin t got [ping 1;ping 2;{new string('x', 100_000)}]", result.Text);
        Assert.False(servers.Probe.WasAborted("t"));
    }

    [Fact]
    public async Task Tunnel_DestinationSendsAndCloses_ClientGetsEveryByteThenFin()
    {
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy(), originPolicy: true);
        await using var client = await OpenTunnelAsync(servers, "/ws?id=d&mode=first", "d");

        var result = await client.ReadToEndAsync();

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal("origin d first", result.Text);
    }

    [Fact]
    public async Task Tunnel_ClientHalfClosedAndDestinationNeverCloses_CutAtHalfOpenTimeout()
    {
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy(timeout: "00:00:01"), originPolicy: true);
        await using var client = await OpenTunnelAsync(servers, "/ws?id=h&hold=true", "h");

        await client.SendAsync("hold on");
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        await servers.Probe.InputEnded("h").WaitAsync(Bound);
        await servers.Probe.Aborted("h").WaitAsync(Bound);
        Assert.NotEqual(Ending.StillOpen, result.Ending);
        Assert.Equal("origin h got [hold on]", result.Text);
        Assert.True(result.Elapsed >= TimeSpan.FromMilliseconds(800), result.ToString());
    }

    [Fact]
    public async Task Tunnel_ClientHalfClosesAfterReplyToEachMessage_EachDirectionEndsOnItsOwn()
    {
        // The destination answers only after the client's FIN: the bytes it sends then are proof the tunnel stayed open
        // towards the client after the client's direction ended.
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy(), originPolicy: true);
        await using var client = await OpenTunnelAsync(servers, "/ws?id=e", "e");

        client.HalfClose();
        await servers.Probe.InputEnded("e").WaitAsync(Bound);
        var result = await client.ReadToEndAsync();

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal("origin e got []", Encoding.Latin1.GetString(result.Bytes));
    }

    [Fact]
    public async Task Tunnel_DestinationHalfClosesFirst_ClientGetsFinAndItsLaterBytesStillReachDestination()
    {
        // The origin sends, half-closes and reads on: YARP alone would end the tunnel at the origin's FIN and drop the client's
        // direction; the client must get the origin's bytes then FIN, and what it sends afterwards must still arrive.
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy(), originPolicy: true);
        await using var client = await OpenTunnelAsync(servers, "/ws?id=r&mode=halfclose", "r");

        var first = await client.ReadToEndAsync();
        Assert.Equal(Ending.Fin, first.Ending);
        Assert.Equal("origin r first", first.Text);

        var late = "late 1;" + new string('y', 100_000);
        await client.SendAsync(late);
        client.HalfClose();

        Assert.Equal(late, await servers.Probe.Received("r").WaitAsync(Bound));
        Assert.False(servers.Probe.WasAborted("r"));
        Assert.Equal(0, await TcpTable.WaitForNoHalfClosedAsync(servers.Port, Bound));
        Assert.DoesNotContain(servers.Logs.GetSnapshot(), log => log.Id.Name == "HalfOpenTimedOut");
    }

    [Fact]
    public async Task Http2WebSocket_DestinationHalfClosesFirst_ClientGetsEndStreamAndItsLaterBytesReachDestination()
    {
        // Extended CONNECT over h2c, turned by YARP into an HTTP/1.1 upgrade to the origin: the origin's FIN becomes the
        // response's END_STREAM, the request's DATA still flows, and the client's END_STREAM becomes the origin's FIN.
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy(), originPolicy: true, h2cOnly: true);

        await OriginHalfClosesFirstOverH2Async(servers.Port, servers.Probe, "w");
    }

    [Fact]
    public async Task Http2WebSocket_ClientEndsStreamFirst_DestinationGetsFinAndItsReplyReachesClient()
    {
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy(), originPolicy: true, h2cOnly: true);
        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.Socket.SendAsync(H2Frames.PrefaceSettingsAndConnect("/ws?id=v", "websocket"));
        await servers.Probe.Started("v").WaitAsync(Bound);
        await client.Socket.SendAsync(H2Frames.DataFrame("ping over h2", endStream: true));
        using var timeout = new CancellationTokenSource(Bound);

        var (status, received) = await ReadH2StreamAsync(client, timeout.Token);

        await servers.Probe.InputEnded("v").WaitAsync(Bound);
        Assert.True(status);
        Assert.Equal("origin v got [ping over h2]", received);
        Assert.False(servers.Probe.WasAborted("v"));
    }

    [Fact]
    public async Task Http2WebSocket_ProxyWithoutTheWebHostsPolicy_TunnelMiddlewareOfItsOwn_ClientGetsEndStream()
    {
        // AddHalfClosePolicy() on the proxy alone: no request middleware of the policy's runs the tunnel's part, so the
        // tunnel has a middleware of its own, and an h2c tunnel still ends the client's stream when the origin half-closes.
        var probe = new Probe();
        await using var origin = await TestServers.StartOriginAsync(probe, new Dictionary<string, string?> { ["ClientFin"] = "Serve" }, withPolicy: true);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:http:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:http:Protocols"] = "Http2",
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IProxyConfigProvider>(new InMemoryConfigProvider(
            [new RouteConfig { RouteId = "all", ClusterId = "origin", Match = new RouteMatch { Path = "{**catch-all}" } }],
            [new ClusterConfig { ClusterId = "origin", Destinations = new Dictionary<string, DestinationConfig> { ["origin"] = new() { Address = origin.Urls.First() } } }]));
        builder.Services.AddReverseProxy().AddHalfClosePolicy();
        await using var proxy = builder.Build();
        proxy.MapReverseProxy();
        await proxy.StartAsync();

        await OriginHalfClosesFirstOverH2Async(TestServers.PortOf(proxy.Urls.First()), probe, "n");
    }

    /// <summary>
    /// An h2c extended CONNECT tunnel whose origin half-closes first (<c>mode=halfclose</c>): the client reads the origin's
    /// bytes and END_STREAM, and the DATA it sends after that still reaches the origin, which is not aborted.
    /// </summary>
    private static async Task OriginHalfClosesFirstOverH2Async(int port, Probe probe, string id)
    {
        await using var client = await RawHttpClient.ConnectAsync(port);
        await client.Socket.SendAsync(H2Frames.PrefaceSettingsAndConnect($"/ws?id={id}&mode=halfclose", "websocket"));
        using var timeout = new CancellationTokenSource(Bound);

        var (status, received) = await ReadH2StreamAsync(client, timeout.Token);

        Assert.True(status);
        Assert.Equal($"origin {id} first", received);

        await client.Socket.SendAsync(H2Frames.DataFrame("late over h2", endStream: true));

        Assert.Equal("late over h2", await probe.Received(id).WaitAsync(Bound));
        Assert.False(probe.WasAborted(id));
    }

    /// <summary>Reads stream 1's frames up to its END_STREAM: whether response HEADERS came, and the DATA as Latin-1.</summary>
    private static async Task<(bool Status, string Data)> ReadH2StreamAsync(RawHttpClient client, CancellationToken cancellationToken)
    {
        var data = new StringBuilder();
        var status = false;
        while (await H2Frames.ReadFrameAsync(client.Socket, cancellationToken) is { } frame)
        {
            Assert.NotEqual(H2Frames.ResetStream, frame.Type);
            Assert.NotEqual(H2Frames.GoAway, frame.Type);
            if (frame.Stream != 1)
            {
                continue;
            }

            status |= frame.Type == H2Frames.Headers;
            if (frame.Type == H2Frames.Data)
            {
                data.Append(Encoding.Latin1.GetString(frame.Payload));
            }

            if (H2Frames.EndsStream(frame.Flags))
            {
                break;
            }
        }

        return (status, data.ToString());
    }

    [Fact]
    public async Task ShutdownSend_UpgradedConnectionOnKestrel_ClientGetsBytesThenFinAndCanStillSend()
    {
        // The hook the tunnel uses, on its own: an upgraded handler ends its direction and keeps reading.
        await using var servers = await TestServers.StartAsync(Front.Kestrel, Policy());
        await using var client = await OpenTunnelAsync(servers, "/ws?id=k&mode=halfclose", "k");

        var first = await client.ReadToEndAsync();
        Assert.Equal(Ending.Fin, first.Ending);
        Assert.Equal("origin k first", first.Text);

        await client.SendAsync("after the server's FIN");
        client.HalfClose();

        Assert.Equal("after the server's FIN", await servers.Probe.Received("k").WaitAsync(Bound));
        Assert.False(servers.Probe.WasAborted("k"));
        Assert.Equal(0, await TcpTable.WaitForNoHalfClosedAsync(servers.Port, Bound));
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task ShutdownSend_OrdinaryRequest_RefusedAndTheResponseIsWhole(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy(), originPolicy: true);
        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync("GET /feature?shutdown=true HTTP/1.1\r\nHost: test\r\n\r\n");

        var response = await client.ReadResponsesAsync(1);

        Assert.StartsWith("HTTP/1.1 200 ", response, StringComparison.Ordinal);
        Assert.Contains("shutdownSend=False", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tunnel_DestinationHalfClosedAndClientNeverEnds_CutAtHalfOpenTimeout()
    {
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy(timeout: "00:00:01"), originPolicy: true);
        await using var client = await OpenTunnelAsync(servers, "/ws?id=s&mode=halfclose", "s");

        var first = await client.ReadToEndAsync();
        Assert.Equal(Ending.Fin, first.Ending);
        Assert.Equal("origin s first", first.Text);
        var finReceived = System.Diagnostics.Stopwatch.StartNew();
        await client.SendAsync("still here");

        // The proxy cuts both sides: the destination sees a reset (its client's direction never ended), and the proxy keeps
        // no socket of the tunnel.
        await servers.Probe.Aborted("s").WaitAsync(Bound);
        Assert.True(finReceived.Elapsed >= TimeSpan.FromMilliseconds(800), $"{finReceived.Elapsed.TotalMilliseconds:0} ms");
        Assert.Contains(servers.Logs.GetSnapshot(), log => log.Id.Name == "HalfOpenTimedOut");
        Assert.Equal(0, await TcpTable.WaitForNoConnectionsAsync(servers.Port, Bound));
    }
}
