using HalfClose.Kestrel.Sample;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>
/// A real Kestrel on 127.0.0.1:0, with the policy, serving <see cref="OriginApp"/>; or the sample YARP proxy
/// with the policy in front of a plain Kestrel origin serving it.
/// </summary>
public sealed class TestServers : IAsyncDisposable
{
    private readonly WebApplication _origin;
    private readonly SampleProxy? _proxy;

    private TestServers(WebApplication origin, SampleProxy? proxy, Probe probe, FakeLogCollector logs, int port)
    {
        _origin = origin;
        _proxy = proxy;
        Probe = probe;
        Logs = logs;
        Port = port;
    }

    /// <summary>The port the client connects to (the proxy's, when there is one).</summary>
    public int Port { get; }

    public Probe Probe { get; }

    /// <summary>The logs of the host that runs the policy.</summary>
    public FakeLogCollector Logs { get; }

    /// <summary>The configuration of the application that runs the policy.</summary>
    public IConfiguration PolicyConfiguration => _proxy?.App.Configuration ?? _origin.Configuration;

    public static async Task<TestServers> StartAsync(Front front, IDictionary<string, string?>? halfClose = null)
    {
        var probe = new Probe();
        if (front == Front.Kestrel)
        {
            var app = await StartOriginAsync(probe, halfClose, withPolicy: true);
            return new TestServers(app, null, probe, app.Services.GetFakeLogCollector(), PortOf(app.Urls.First()));
        }

        var origin = await StartOriginAsync(probe, null, withPolicy: false);
        var args = new List<string>
        {
            "--urls=http://127.0.0.1:0",
            "--ReverseProxy:Routes:all:ClusterId=demo",
            "--ReverseProxy:Routes:all:Match:Path={**catch-all}",
            $"--ReverseProxy:Clusters:demo:Destinations:origin:Address={origin.Urls.First()}",
        };
        args.AddRange((halfClose ?? new Dictionary<string, string?>()).Select(kv => $"--HalfClose:{kv.Key}={kv.Value}"));
        var proxy = await SampleProxy.StartAsync([.. args], builder =>
        {
            builder.Logging.ClearProviders();
            builder.Services.AddFakeLogging();
        });
        return new TestServers(origin, proxy, probe, proxy.App.Services.GetFakeLogCollector(), PortOf(proxy.Urls.First()));
    }

    /// <summary>Kestrel serving the test handlers; with the policy configured from <paramref name="halfClose"/>.</summary>
    public static async Task<WebApplication> StartOriginAsync(
        Probe probe,
        IDictionary<string, string?>? halfClose,
        bool withPolicy,
        Action<KestrelServerOptions>? kestrel = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(
            (halfClose ?? new Dictionary<string, string?>()).ToDictionary(kv => $"HalfClose:{kv.Key}", kv => kv.Value));
        builder.Logging.ClearProviders();
        builder.Services.AddFakeLogging();
        if (kestrel is null)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.ConfigureKestrel(kestrel);
        }

        if (withPolicy)
        {
            builder.WebHost.UseHalfClosePolicy();
        }

        var app = builder.Build();
        OriginApp.Map(app, probe);
        await app.StartAsync();
        return app;
    }

    public static int PortOf(string url) => new Uri(url).Port;

    public async ValueTask DisposeAsync()
    {
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }

        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _origin.StopAsync(stopping.Token);
        await _origin.DisposeAsync();
    }
}
