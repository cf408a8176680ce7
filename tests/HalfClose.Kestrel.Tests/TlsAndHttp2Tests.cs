using System.Net;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace HalfClose.Kestrel.Tests;

/// <summary>TLS connections get their own setting; HTTP/2 (ALPN h2, h2c prior knowledge) is passed through.</summary>
public sealed class TlsAndHttp2Tests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task TlsFin_TlsClientFinServe_Answered(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, new Dictionary<string, string?> { ["ClientFin"] = "Abort", ["TlsClientFin"] = "Serve" }, tls: true);

        var result = await HalfClosing.SlowGetThenFinAsync(servers.TlsPort, servers.Probe, "a", tls: true);

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal([200], result.StatusCodes);
        Assert.Contains("slow a done", result.Text, StringComparison.Ordinal);
        Assert.False(servers.Probe.WasAborted("a"));
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task TlsFin_TlsClientFinAbort_NoBytes_WhileCleartextServed(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, new Dictionary<string, string?> { ["ClientFin"] = "Serve", ["TlsClientFin"] = "Abort" }, tls: true);

        var tlsResult = await HalfClosing.SlowGetThenFinAsync(servers.TlsPort, servers.Probe, "tls", ms: 5000, tls: true);
        var clearResult = await RawHttpClient.SendAndHalfCloseAsync(servers.Port, HttpText.Get("/slow?ms=300&id=clear"));

        Assert.NotEqual(Ending.StillOpen, tlsResult.Ending);
        Assert.Empty(tlsResult.Bytes);
        await servers.Probe.Aborted("tls").WaitAsync(Bound);
        Assert.Equal([200], clearResult.StatusCodes);
        Assert.Equal(Ending.Fin, clearResult.Ending);
    }

    [Fact]
    public async Task TlsFin_PolicyAfterUseHttps_TlsClientFinApplies()
    {
        var probe = new Probe();
        var app = await TestServers.StartOriginAsync(probe, new Dictionary<string, string?> { ["TlsClientFin"] = "Abort" }, withPolicy: false, kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.UseHttps(TestCertificate.Certificate);
                listen.UseHalfClosePolicy();
            }));
        await using var _ = app;

        var result = await HalfClosing.SlowGetThenFinAsync(TestServers.PortOf(app.Urls.First()), probe, "a", ms: 5000, tls: true);

        Assert.Empty(result.Bytes);
        await probe.Aborted("a").WaitAsync(Bound);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task Http2OverTls_Alpn_PassedThroughAndAnswered(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, tls: true);
        using var client = Http2Client();

        using var response = await client.GetAsync(new Uri($"https://127.0.0.1:{servers.TlsPort}/feature")).WaitAsync(Bound);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        if (front == Front.Kestrel)
        {
            Assert.Equal("supported=False halfClosed=False protocol=HTTP/2", body);
        }
    }

    [Fact]
    public async Task Http2OverTls_OverlappingStreams_EachKeepsItsOwnEndpoint()
    {
        // The policy leaves HTTP/2's requests alone: a stream that starts while another waits must not take its place.
        await using var servers = await TestServers.StartAsync(Front.Kestrel, tls: true);
        using var client = Http2Client();
        var held = client.GetStringAsync(new Uri($"https://127.0.0.1:{servers.TlsPort}/held-endpoint?id=a"));
        await servers.Probe.Started("a").WaitAsync(Bound);

        using var other = await client.GetAsync(new Uri($"https://127.0.0.1:{servers.TlsPort}/feature")).WaitAsync(Bound);
        servers.Probe.Release("a");

        Assert.Equal(HttpVersion.Version20, other.Version);
        Assert.Equal("held-endpoint", await held.WaitAsync(Bound));
    }

    [Fact]
    public async Task Http1OverTls_FeatureSupported()
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel, tls: true);
        await using var client = await RawTlsClient.ConnectAsync(servers.TlsPort);
        await client.SendAsync("GET /feature HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");

        var result = await client.ReadToEndAsync();

        Assert.Contains("supported=True halfClosed=False protocol=HTTP/1.1", result.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task H2cPriorKnowledge_PassedThroughAndAnswered(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, h2cOnly: true);
        using var client = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{servers.Port}/feature")).WaitAsync(Bound);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        if (front == Front.Kestrel)
        {
            Assert.Equal("supported=False halfClosed=False protocol=HTTP/2", body);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task H2cPriorKnowledge_FinWithStreamInFlight_SameAsWithoutPolicy_StreamAborted(bool withPolicy)
    {
        var probe = new Probe();
        var app = await TestServers.StartOriginAsync(probe, null, withPolicy, TestServers.ListenH2cOnly);
        await using var _ = app;

        await FinWithH2StreamInFlightAsync(TestServers.PortOf(app.Urls.First()), probe);
    }

    [Fact]
    public async Task H2cPriorKnowledge_ThroughYarp_FinWithStreamInFlight_StreamAborted()
    {
        await using var servers = await TestServers.StartAsync(Front.Yarp, h2cOnly: true);

        await FinWithH2StreamInFlightAsync(servers.Port, servers.Probe);
    }

    private static async Task FinWithH2StreamInFlightAsync(int port, Probe probe)
    {
        await using var client = await RawHttpClient.ConnectAsync(port);
        await client.Socket.SendAsync(H2Frames.PrefaceSettingsAndGet("/hang?id=a"));
        await probe.Started("a").WaitAsync(Bound);
        client.HalfClose();

        await probe.Aborted("a").WaitAsync(Bound);
        var result = await client.ReadToEndAsync();
        Assert.NotEqual(Ending.StillOpen, result.Ending);
    }

    private static HttpClient Http2Client() => new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = TestCertificate.Validate },
    })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };
}
