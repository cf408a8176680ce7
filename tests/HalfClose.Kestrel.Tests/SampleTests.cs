using System.Net.WebSockets;
using HalfClose.Kestrel.Sample;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace HalfClose.Kestrel.Tests;

/// <summary>The sample as the README runs it: its own appsettings.json, no destination, so the embedded demo origin.</summary>
public sealed class SampleTests
{
    [Fact]
    public async Task Sample_DefaultConfiguration_EmbeddedOrigin_AnswersHalfClosedGet()
    {
        // Everything from the sample's appsettings.json but the port, so that the test does not need 5000 free.
        await using var proxy = await SampleProxy.StartAsync(["--urls=http://127.0.0.1:0", $"--contentRoot={AppContext.BaseDirectory}"], builder => TestServers.ConfigureWatch(builder.Services));

        var result = await RawHttpClient.SendAndHalfCloseAsync(TestServers.PortOf(proxy.Urls.First()), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.NotNull(proxy.Origin);
        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal([200], result.StatusCodes);
        Assert.Contains("Hello from the demo origin", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sample_RawUpgradeRoute_ClientHalfCloses_EchoThenOriginsLastLineThenFin()
    {
        await using var proxy = await SampleProxy.StartAsync(["--urls=http://127.0.0.1:0", $"--contentRoot={AppContext.BaseDirectory}"], builder => TestServers.ConfigureWatch(builder.Services));

        var result = await RawHttpClient.SendAndHalfCloseAsync(
            TestServers.PortOf(proxy.Urls.First()),
            "GET /raw HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\nhello\n");

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.StartsWith("HTTP/1.1 101 ", result.Text, StringComparison.Ordinal);
        Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", result.Text, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("\r\n\r\nhello\nThe demo origin saw your FIN after 6 bytes. Bye.\n", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sample_WebSocketRoute_RealWebSocketClient_EchoedThenClosedByTheOrigin()
    {
        await using var proxy = await SampleProxy.StartAsync(["--urls=http://127.0.0.1:0", $"--contentRoot={AppContext.BaseDirectory}"], builder => TestServers.ConfigureWatch(builder.Services));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var socket = new ClientWebSocket();

        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{TestServers.PortOf(proxy.Urls.First())}/ws"), timeout.Token);
        await socket.SendAsync("hello, origin"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        var buffer = new byte[256];
        var echo = await socket.ReceiveAsync(buffer, timeout.Token);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
        var close = await socket.ReceiveAsync(buffer, timeout.Token);

        Assert.Equal("hello, origin", System.Text.Encoding.UTF8.GetString(buffer, 0, echo.Count));
        Assert.Equal(WebSocketMessageType.Close, close.MessageType);
        Assert.Equal("Bye from the demo origin.", socket.CloseStatusDescription);
        Assert.Equal(WebSocketState.Closed, socket.State);
    }

    [Fact]
    public async Task Sample_RouteMetadata_BecomesEndpointPolicy()
    {
        await using var proxy = await SampleProxy.StartAsync(["--urls=http://127.0.0.1:0", $"--contentRoot={AppContext.BaseDirectory}"], builder => TestServers.ConfigureWatch(builder.Services));

        var endpoints = proxy.App.Services.GetRequiredService<EndpointDataSource>().Endpoints;
        ClientFinMode? Policy(string route) =>
            endpoints.Single(e => e.DisplayName == route).Metadata.GetMetadata<IHalfClosePolicyMetadata>()?.ClientFin;

        Assert.Equal(ClientFinMode.Abort, Policy("abort-demo"));
        Assert.Equal(ClientFinMode.Serve, Policy("websocket"));
        Assert.Equal(ClientFinMode.Serve, Policy("raw-tunnel"));
        Assert.Null(Policy("all"));
    }
}
