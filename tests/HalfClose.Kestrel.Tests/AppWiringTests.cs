using System.Net;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// The policy as applications wire it: Kestrel's endpoint defaults set by the app after <c>UseHalfClosePolicy()</c>,
/// and an app-wide policy with an endpoint's own settings on top, one test per setting.
/// </summary>
public sealed class AppWiringTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AppSetsEndpointDefaultsAfterUseHalfClosePolicy_PolicyStillOnEveryEndpoint()
    {
        var probe = new Probe();
        var app = await TestServers.StartOriginAsync(probe, null, withPolicy: true, configure: builder =>
        {
            TestServers.ConfigureTlsEndpoints(builder);
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http1AndHttp2));
        });
        await using var _ = app;
        var http = PortOf(app, "http");
        var https = PortOf(app, "https");

        var fast = await RawHttpClient.SendAndHalfCloseAsync(http, HttpText.Get("/"));
        var slow = await HalfClosing.SlowGetThenFinAsync(http, probe, "slow");
        var tls = await ServerLog.OnFailureAsync(app, () => RawTlsClient.SendAndHalfCloseAsync(https, HttpText.Get("/")));
        var upload = await RawUpload.RunAsync(http, 4 * 1024 * 1024, finAfterSend: true);

        Assert.Equal((Ending.Fin, 1), (fast.Ending, HttpText.CompleteResponses(fast.Text)));
        Assert.Equal([200], slow.StatusCodes);
        Assert.Equal(Ending.Fin, slow.Ending);
        Assert.Equal((Ending.Fin, 1), (tls.Ending, HttpText.CompleteResponses(tls.Text)));
        Assert.Equal([413], upload.Result.StatusCodes);
        Assert.Equal(Ending.Fin, upload.Ending);
        Assert.Equal(2, app.Services.GetFakeLogCollector().GetSnapshot().Count(log => log.Id.Name == "AppliedAtTransport"));
    }

    [Fact]
    public async Task AppWideAbort_EndpointServes_EndpointAnswersAndOthersAbort()
    {
        await using var app = await TwoEndpointsAsync(new() { ["ClientFin"] = "Abort" }, own => own.ClientFin = ClientFinMode.Serve);

        var own = await HalfClosing.SlowGetThenFinAsync(app.Own, app.Probe, "own");
        var other = await HalfClosing.SlowGetThenFinAsync(app.Other, app.Probe, "other", ms: 5000);

        Assert.Equal([200], own.StatusCodes);
        Assert.Empty(other.Bytes);
    }

    [Fact]
    public async Task AppWideTlsAbort_TlsEndpointServes_Answers()
    {
        await using var app = await TwoEndpointsAsync(new() { ["TlsClientFin"] = "Abort" }, own => own.TlsClientFin = ClientFinMode.Serve, ownTls: true);

        var own = await RawTlsClient.SendAndHalfCloseAsync(app.Own, HttpText.Get("/slow?ms=300&id=own"));

        Assert.Equal((Ending.Fin, 1), (own.Ending, HttpText.CompleteResponses(own.Text)));
    }

    [Fact]
    public async Task AppWideServesPipelined_EndpointDiscards_OnlyFirstAnswered()
    {
        await using var app = await TwoEndpointsAsync(new(), own => own.PipelinedRequests = PipelinedRequestsMode.Discard);
        // The first request waits for the FIN to be decided: the pipelined ones are still unread then, however slow the machine.
        var three = HttpText.Get("/wait-fin?id=1") + HttpText.Get("/slow?ms=10&id=2") + HttpText.Get("/slow?ms=10&id=3");

        var own = await RawHttpClient.SendAndHalfCloseAsync(app.Own, three);
        var other = await RawHttpClient.SendAndHalfCloseAsync(app.Other, three.Replace("id=", "id=o", StringComparison.Ordinal));

        Assert.True(own.StatusCodes.Count == 1, own.Text + ServerLog.Text(app.App));
        Assert.Equal([200, 200, 200], other.StatusCodes);
    }

    [Fact]
    public async Task AppWideHalfOpenTimeout30s_Endpoint1s_EndpointCutAtItsOwn()
    {
        await using var app = await TwoEndpointsAsync(new(), own => own.HalfOpenTimeout = TimeSpan.FromSeconds(1));

        await using var client = await RawHttpClient.ConnectAsync(app.Own);
        await client.SendAsync(HttpText.Get("/hang?id=own"));
        await app.Probe.Started("own").WaitAsync(Bound);
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.NotEqual(Ending.StillOpen, result.Ending);
        Assert.InRange(result.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task AppWideLingerOff_EndpointDrains_HttpClientGets413()
    {
        await using var app = await TwoEndpointsAsync(new() { ["Linger"] = "Off" }, own => own.Linger = LingerMode.Drain);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        for (var i = 0; i < 3; i++)
        {
            using var response = await client.PostAsync(new Uri($"http://127.0.0.1:{app.Own}/upload-rejected"), new RepeatedContent(50L * 1024 * 1024));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }
    }

    [Fact]
    public async Task AppWideDrain_EndpointRejects_ResetPromptly()
    {
        await using var app = await TwoEndpointsAsync(new(), own => own.Linger = LingerMode.Reject);

        var own = await RawUpload.RunAsync(app.Own, 50L * 1024 * 1024, finAfterSend: true);
        var other = await RawUpload.RunAsync(app.Other, 4 * 1024 * 1024, finAfterSend: true);

        Assert.Equal(Ending.Reset, own.Ending);
        Assert.Equal(Ending.Fin, other.Ending);
    }

    [Fact]
    public async Task AppWideLingerBounds_EndpointCapsBytes_ClosedOnceItsCapPassed()
    {
        await using var app = await TwoEndpointsAsync(
            new() { ["LingerTime"] = "00:00:30" },
            own => (own.LingerMaxBytes, own.LingerTime, own.LingerTimeout) = (64 * 1024, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)));

        var own = await RawUpload.RunAsync(app.Own, 50L * 1024 * 1024, finAfterSend: true);

        Assert.Equal([413], own.Result.StatusCodes);
        Assert.Equal(Ending.Reset, own.Ending);
        Assert.True(own.Sent < 50L * 1024 * 1024, $"sent {own.Sent}");
    }

    private static int PortOf(WebApplication app, string scheme) =>
        app.Urls.Select(url => new Uri(url)).First(uri => uri.Scheme == scheme).Port;

    /// <summary>
    /// The app-wide policy from configuration (<paramref name="appWide"/>, <c>builder.WebHost.UseHalfClosePolicy()</c>) on
    /// every endpoint, and one endpoint with settings of its own on top (<c>listen.UseHalfClosePolicy(own)</c>).
    /// </summary>
    private static async Task<TwoEndpoints> TwoEndpointsAsync(Dictionary<string, string?> appWide, Action<HalfClosePolicyOptions> own, bool ownTls = false)
    {
        var probe = new Probe();
        var app = await TestServers.StartOriginAsync(probe, appWide, withPolicy: true, kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.UseHalfClosePolicy(own);
                if (ownTls)
                {
                    listen.UseHttps(TestCertificate.Certificate);
                }
            });
        });
        var ports = app.Urls.Select(TestServers.PortOf).ToArray();
        return new TwoEndpoints(app, probe, Other: ports[0], Own: ports[1]);
    }

    private sealed record TwoEndpoints(WebApplication App, Probe Probe, int Other, int Own) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
