using HalfClose.Kestrel.Sample;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using HalfClose.Kestrel.Tests.Infrastructure;
using Yarp.ReverseProxy.Configuration;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// Per-route client-FIN policy: YARP route metadata (<c>HalfClose.ClientFin</c>) and the endpoint convention
/// (<c>WithHalfClosePolicy</c>) decide for a FIN that arrives while one of their requests is in flight.
/// </summary>
public sealed class RoutePolicyTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>Well under the 5 s the handler would take: the abort reached the origin, not the handler's end.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(4);

    private static Dictionary<string, string?> Policy(string clientFin) => new() { ["ClientFin"] = clientFin };

    /// <summary>Two more routes on the proxy, chosen by an X-Route header, each with its own HalfClose.ClientFin.</summary>
    private static string[] TwoRoutes(string serveValue = "Serve", string abortValue = "Abort") =>
    [
        .. Route("serve-route", serveValue),
        .. Route("abort-route", abortValue),
    ];

    private static string[] Route(string name, string clientFin) =>
    [
        $"--ReverseProxy:Routes:{name}:ClusterId=demo",
        $"--ReverseProxy:Routes:{name}:Order=-1",
        $"--ReverseProxy:Routes:{name}:Match:Path={{**catch-all}}",
        $"--ReverseProxy:Routes:{name}:Match:Headers:0:Name=X-Route",
        $"--ReverseProxy:Routes:{name}:Match:Headers:0:Values:0={name}",
        $"--ReverseProxy:Routes:{name}:Metadata:HalfClose.ClientFin={clientFin}",
    ];

    private static string Get(string target, string? route = null) => HttpText.Get(target, route is null ? "" : $"X-Route: {route}\r\n");

    [Theory]
    [InlineData("Serve")]
    [InlineData("Abort")]
    public async Task YarpRouteMetadata_FinDuringRequest_ServeRouteAnswers(string connectionPolicy)
    {
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy(connectionPolicy), proxyArgs: TwoRoutes());

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(Get("/slow?ms=400&id=s", "serve-route"));
        await servers.Probe.Started("s").WaitAsync(Bound);
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal([200], result.StatusCodes);
        Assert.Contains("slow s done", result.Text, StringComparison.Ordinal);
        Assert.False(servers.Probe.WasAborted("s"));
    }

    [Theory]
    [InlineData("Serve")]
    [InlineData("Abort")]
    public async Task YarpRouteMetadata_FinDuringRequest_AbortRouteCancelsDestinationRequest(string connectionPolicy)
    {
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy(connectionPolicy), proxyArgs: TwoRoutes());

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(Get("/slow?ms=5000&id=a", "abort-route"));
        await servers.Probe.Started("a").WaitAsync(Bound);
        var finSent = System.Diagnostics.Stopwatch.StartNew();
        client.HalfClose();
        var result = await client.ReadToEndAsync();
        await servers.Probe.Aborted("a").WaitAsync(Bound);

        Assert.NotEqual(Ending.StillOpen, result.Ending);
        Assert.Empty(result.Bytes);
        Assert.True(finSent.Elapsed < Prompt, $"The origin's request was aborted {finSent.Elapsed.TotalMilliseconds:0} ms after the FIN.");
    }

    [Fact]
    public async Task YarpRouteMetadata_FinSentWithTheRequest_AbortRouteStillAborts()
    {
        // nc -N: the FIN travels with the request, and is seen before routing picks the route; repeated, as it is a race.
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy("Serve"), proxyArgs: TwoRoutes());

        for (var i = 0; i < 20; i++)
        {
            var result = await RawHttpClient.SendAndHalfCloseAsync(servers.Port, Get($"/slow?ms=3000&id=n{i}", "abort-route"));

            Assert.NotEqual(Ending.StillOpen, result.Ending);
            Assert.Empty(result.Bytes);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EndpointConvention_FinDecidedBeforeRouting_AbortEndpointAbortsOnceRouted(bool finAfterRequestStarted)
    {
        // Routing is held until the FIN has been decided under the connection's Serve: the endpoint's Abort must still apply,
        // whether the FIN came with the request (nc -N) or after the request had reached the application.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Urls"] = "http://127.0.0.1:0" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseHalfClosePolicy();
        TestServers.ConfigureWatch(builder.Services);
        await using var app = builder.Build();
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Use(async (context, next) =>
        {
            var fin = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            started.TrySetResult();
            using (context.Features.Get<IHalfCloseFeature>()!.ClientHalfClosed.Register(() => fin.TrySetResult()))
            {
                await fin.Task.WaitAsync(Bound);
            }

            await next(context);
        });
        app.UseRouting();
        app.MapGet("/abort-route", async (HttpContext context) =>
        {
            using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
            await Task.Delay(5000, context.RequestAborted);
            return "served";
        }).WithHalfClosePolicy(ClientFinMode.Abort);
        await app.StartAsync();

        await using var client = await RawHttpClient.ConnectAsync(TestServers.PortOf(app.Urls.First()));
        await client.SendAsync(Get("/abort-route"));
        if (finAfterRequestStarted)
        {
            await started.Task.WaitAsync(Bound);
        }

        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.NotEqual(Ending.StillOpen, result.Ending);
        Assert.Empty(result.Bytes);
        await aborted.Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task YarpRouteMetadata_FinDuringRequestOfRouteWithoutMetadata_ConnectionPolicyApplies()
    {
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy("Abort"), proxyArgs: TwoRoutes());

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(Get("/slow?ms=5000&id=c"));
        await servers.Probe.Started("c").WaitAsync(Bound);
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.Empty(result.Bytes);
        await servers.Probe.Aborted("c").WaitAsync(Bound);
    }

    [Fact]
    public async Task YarpRouteMetadata_ServeRouteThenAbortRouteOnOneConnection_EachRequestGetsItsRoutesPolicy()
    {
        await using var servers = await TestServers.StartAsync(Front.Yarp, Policy("Serve"), proxyArgs: TwoRoutes());

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(Get("/slow?ms=10&id=first", "serve-route"));
        var first = await client.ReadResponsesAsync(1);
        await client.SendAsync(Get("/slow?ms=5000&id=second", "abort-route"));
        await servers.Probe.Started("second").WaitAsync(Bound);
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.Contains("slow first done", first, StringComparison.Ordinal);
        Assert.Empty(result.Bytes);
        await servers.Probe.Aborted("second").WaitAsync(Bound);
    }

    [Theory]
    [InlineData("Sometimes")]
    [InlineData("1")]
    [InlineData("")]
    public async Task YarpRouteMetadata_UnknownValue_StartFailsNamingRouteAndValue(string value)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestServers.StartAsync(Front.Yarp, Policy("Serve"), proxyArgs: TwoRoutes(abortValue: value)));

        var messages = Messages(error);
        Assert.Contains("Route 'abort-route': metadata 'HalfClose.ClientFin' must be one of Serve, Abort; got '" + value + "'.", messages, StringComparison.Ordinal);
        Assert.DoesNotContain("serve-route", messages, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve")]
    [InlineData(" ABORT ")]
    public async Task YarpRouteMetadata_ValueInAnyCase_Accepted(string value)
    {
        await using var proxy = await SampleProxy.StartAsync(
        [
            "--urls=http://127.0.0.1:0",
            "--ReverseProxy:Clusters:demo:Destinations:origin:Address=http://127.0.0.1:1",
            .. Route("cased", value),
        ]);

        Assert.NotEmpty(proxy.Urls);
    }

    [Theory]
    [InlineData("Serve")]
    [InlineData("Abort")]
    public async Task EndpointConvention_FinDuringRequest_AbortEndpointAborts(string connectionPolicy)
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel, Policy(connectionPolicy));

        var abortTask = RunAsync("/policy/abort/slow?ms=5000&id=a", "a");
        var serveTask = RunAsync("/policy/serve/slow?ms=400&id=s", "s");
        var abort = await abortTask;
        var serve = await serveTask;

        Assert.Empty(abort.Bytes);
        await servers.Probe.Aborted("a").WaitAsync(Bound);
        Assert.Equal(Ending.Fin, serve.Ending);
        Assert.Equal([200], serve.StatusCodes);
        Assert.Contains("slow s done", serve.Text, StringComparison.Ordinal);
        Assert.False(servers.Probe.WasAborted("s"));

        async Task<RawResult> RunAsync(string target, string id)
        {
            await using var client = await RawHttpClient.ConnectAsync(servers.Port);
            await client.SendAsync(Get(target));
            await servers.Probe.Started(id).WaitAsync(Bound);
            client.HalfClose();
            return await client.ReadToEndAsync();
        }
    }

    [Fact]
    public async Task YarpConfigReload_RouteGainsAbort_NextRequestsFinAborts()
    {
        // The proxy's first request finds no endpoint with a policy of its own (no request then waits on its endpoint);
        // a reload gives the route Abort. The next request's FIN must meet it: the endpoints are read again once changed.
        var originStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var originAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var originBuilder = WebApplication.CreateSlimBuilder();
        originBuilder.Configuration.Sources.Clear();
        originBuilder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Urls"] = "http://127.0.0.1:0" });
        originBuilder.Logging.ClearProviders();
        await using var origin = originBuilder.Build();
        origin.MapGet("/fast", () => "fast");
        origin.MapGet("/slow", async (HttpContext context) =>
        {
            using var registration = context.RequestAborted.Register(() => originAborted.TrySetResult());
            originStarted.TrySetResult();
            await Task.Delay(5000, context.RequestAborted);
            return "served";
        });
        await origin.StartAsync();

        var cluster = new ClusterConfig
        {
            ClusterId = "origin",
            Destinations = new Dictionary<string, DestinationConfig> { ["origin"] = new() { Address = origin.Urls.First() } },
        };
        RouteConfig Route(IReadOnlyDictionary<string, string>? metadata) =>
            new() { RouteId = "all", ClusterId = "origin", Match = new RouteMatch { Path = "{**catch-all}" }, Metadata = metadata };
        var config = new InMemoryConfigProvider([Route(null)], [cluster]);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Urls"] = "http://127.0.0.1:0" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseHalfClosePolicy();
        builder.Services.AddSingleton<IProxyConfigProvider>(config);
        builder.Services.AddReverseProxy().AddHalfClosePolicy();
        await using var proxy = builder.Build();
        proxy.MapReverseProxy().WithHalfClosePolicyFromRouteMetadata();
        await proxy.StartAsync();
        var port = TestServers.PortOf(proxy.Urls.First());

        await using (var first = await RawHttpClient.ConnectAsync(port))
        {
            await first.SendAsync(HttpText.Get("/fast", "Connection: close\r\n"));
            var answered = await first.ReadToEndAsync();
            Assert.Equal([200], answered.StatusCodes);
        }

        config.Update([Route(new Dictionary<string, string> { ["HalfClose.ClientFin"] = "Abort" })], [cluster]);

        await using var client = await RawHttpClient.ConnectAsync(port);
        await client.SendAsync(Get("/slow"));
        await originStarted.Task.WaitAsync(Bound);
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.Empty(result.Bytes);
        await originAborted.Task.WaitAsync(Bound);
    }

    [Fact]
    public void EndpointConvention_UndefinedMode_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new HalfClosePolicyAttribute((ClientFinMode)7));

    private static string Messages(Exception error)
    {
        var all = new List<string>();
        Collect(error);
        return string.Join(" | ", all);

        void Collect(Exception e)
        {
            all.Add(e.Message);
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    Collect(inner);
                }
            }
            else if (e.InnerException is { } inner)
            {
                Collect(inner);
            }
        }
    }
}
