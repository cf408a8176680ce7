using HalfClose.Kestrel.Sample;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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

    private TestServers(WebApplication origin, SampleProxy? proxy, Probe probe, FakeLogCollector logs, IEnumerable<string> urls)
    {
        _origin = origin;
        _proxy = proxy;
        Probe = probe;
        Logs = logs;
        var uris = urls.Select(url => new Uri(url)).ToArray();
        Port = uris.First(uri => uri.Scheme == "http").Port;
        TlsPort = uris.FirstOrDefault(uri => uri.Scheme == "https")?.Port ?? 0;
    }

    /// <summary>The cleartext port the client connects to (the proxy's, when there is one).</summary>
    public int Port { get; }

    /// <summary>The TLS port, when the servers were started with TLS.</summary>
    public int TlsPort { get; }

    public Probe Probe { get; }

    /// <summary>The logs of the host that runs the policy.</summary>
    public FakeLogCollector Logs { get; }

    /// <summary>The origin's port: where the proxy forwards to, or <see cref="Port"/> when Kestrel is the front.</summary>
    public int OriginPort => PortOf(_origin.Urls.First());

    /// <summary>The logs of the origin: the same as <see cref="Logs"/> when Kestrel is the front.</summary>
    public FakeLogCollector OriginLogs => _origin.Services.GetFakeLogCollector();

    /// <summary>The services of the application that runs the policy.</summary>
    public IServiceProvider PolicyServices => _proxy?.App.Services ?? _origin.Services;

    /// <summary>The configuration of the application that runs the policy.</summary>
    public IConfiguration PolicyConfiguration => _proxy?.App.Configuration ?? _origin.Configuration;

    /// <summary>
    /// Starts the servers. With <paramref name="tls"/>, the front also listens with TLS (HTTP/1.1 and HTTP/2 by ALPN),
    /// and the policy sits before <c>UseHttps()</c>, as <c>UseHalfClosePolicy()</c> on the web host puts it.
    /// </summary>
    /// <param name="front">Kestrel itself, or the YARP sample in front of a plain Kestrel origin.</param>
    /// <param name="halfClose">The HalfClose section.</param>
    /// <param name="tls">Listen with TLS too.</param>
    /// <param name="h2cOnly">The cleartext endpoint speaks HTTP/2 only (h2c prior knowledge).</param>
    /// <param name="proxyArgs">More command-line configuration for the proxy (routes); ignored for <see cref="Front.Kestrel"/>.</param>
    /// <param name="originPolicy">Behind the proxy, the origin runs the policy too (default <c>Serve</c>): it can answer after a FIN.</param>
    /// <param name="shutdownTimeout">The front's <c>HostOptions.ShutdownTimeout</c>; the host's default when null.</param>
    /// <param name="tlsFromConfiguration">With <paramref name="tls"/> on Kestrel: the endpoints come from the <c>Kestrel:Endpoints</c>
    /// configuration (an https URL with a certificate file), as an application configures them, not from code.</param>
    public static async Task<TestServers> StartAsync(
        Front front,
        IDictionary<string, string?>? halfClose = null,
        bool tls = false,
        bool h2cOnly = false,
        IEnumerable<string>? proxyArgs = null,
        bool originPolicy = false,
        TimeSpan? shutdownTimeout = null,
        bool tlsFromConfiguration = false)
    {
        var probe = new Probe();
        Action<WebApplicationBuilder>? configureFront = shutdownTimeout is { } timeout
            ? builder => builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = timeout)
            : null;
        if (front == Front.Kestrel)
        {
            Action<KestrelServerOptions>? listen = tls && !tlsFromConfiguration ? ListenWithTls : h2cOnly ? ListenH2cOnly : null;
            if (tls && tlsFromConfiguration)
            {
                configureFront += ConfigureTlsEndpoints;
            }

            var app = await StartOriginAsync(probe, halfClose, withPolicy: true, listen, configureFront);
            return new TestServers(app, null, probe, app.Services.GetFakeLogCollector(), app.Urls);
        }

        var origin = await StartOriginAsync(probe, null, withPolicy: originPolicy);
        var args = new List<string>
        {
            "--ReverseProxy:Routes:all:ClusterId=demo",
            "--ReverseProxy:Routes:all:Match:Path={**catch-all}",
            $"--ReverseProxy:Clusters:demo:Destinations:origin:Address={origin.Urls.First()}",
        };
        args.AddRange((halfClose ?? new Dictionary<string, string?>()).Select(kv => $"--HalfClose:{kv.Key}={kv.Value}"));
        args.AddRange(proxyArgs ?? []);
        if (tls)
        {
            args.AddRange(
            [
                "--Kestrel:Endpoints:http:Url=http://127.0.0.1:0",
                "--Kestrel:Endpoints:https:Url=https://127.0.0.1:0",
                $"--Kestrel:Endpoints:https:Certificate:Path={TestCertificate.PfxPath}",
                $"--Kestrel:Endpoints:https:Certificate:Password={TestCertificate.Password}",
            ]);
        }
        else if (h2cOnly)
        {
            args.AddRange(["--Kestrel:Endpoints:http:Url=http://127.0.0.1:0", "--Kestrel:Endpoints:http:Protocols=Http2"]);
        }
        else
        {
            args.Add("--urls=http://127.0.0.1:0");
        }

        var proxy = await SampleProxy.StartAsync([.. args], builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Services.AddFakeLogging();
            ConfigureWatch(builder.Services);
            configureFront?.Invoke(builder);
        });
        return new TestServers(origin, proxy, probe, proxy.App.Services.GetFakeLogCollector(), proxy.Urls);
    }

    /// <summary>Kestrel serving the test handlers; with the policy configured from <paramref name="halfClose"/>.</summary>
    /// <param name="probe">What the handlers report to.</param>
    /// <param name="halfClose">The HalfClose section.</param>
    /// <param name="withPolicy">Add the policy with <c>UseHalfClosePolicy()</c> on the web host.</param>
    /// <param name="kestrel">Kestrel's endpoints and limits; one cleartext endpoint on a free loopback port when null.</param>
    /// <param name="configure">More set-up of the builder (e.g. the host's shutdown timeout), before the app is built.</param>
    public static async Task<WebApplication> StartOriginAsync(
        Probe probe,
        IDictionary<string, string?>? halfClose,
        bool withPolicy,
        Action<KestrelServerOptions>? kestrel = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(
            (halfClose ?? new Dictionary<string, string?>()).ToDictionary(kv => $"HalfClose:{kv.Key}", kv => kv.Value));
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddFakeLogging();
        ConfigureWatch(builder.Services);
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

        configure?.Invoke(builder);
        var app = builder.Build();
        OriginApp.Map(app, probe);
        await app.StartAsync();
        return app;
    }

    public static int PortOf(string url) => new Uri(url).Port;

    /// <summary>
    /// In the suite's portable-watch build (<c>PORTABLE_WATCH</c>, the HalfClose.Kestrel.PortableWatchTests project), every
    /// host under test watches half-open sockets with the portable peek, as on a platform or sandbox without TCP_INFO, and
    /// sends through the policy's own send path, as on a runtime whose transport output cannot be watched.
    /// </summary>
    public static void ConfigureWatch(IServiceCollection services)
    {
#if PORTABLE_WATCH
        services.AddSingleton(new HalfClose.Kestrel.Internal.SocketWatcher(HalfClose.Kestrel.Internal.SocketWatch.Peek));
        services.AddSingleton(new HalfClose.Kestrel.Internal.OwnSendPath());
#else
        _ = services;
#endif
    }

    /// <summary>A cleartext and an https endpoint from configuration, with the test certificate's file.</summary>
    public static void ConfigureTlsEndpoints(WebApplicationBuilder builder)
    {
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:http:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:https:Url"] = "https://127.0.0.1:0",
            ["Kestrel:Endpoints:https:Certificate:Path"] = TestCertificate.PfxPath,
            ["Kestrel:Endpoints:https:Certificate:Password"] = TestCertificate.Password,
        });
    }

    /// <summary>Stops the application that runs the policy (the proxy, or Kestrel itself), as a host shutdown does.</summary>
    public Task StopFrontAsync(CancellationToken cancellationToken = default) =>
        (_proxy?.App ?? _origin).StopAsync(cancellationToken);

    /// <summary>A cleartext endpoint for HTTP/2 with prior knowledge only.</summary>
    public static void ListenH2cOnly(KestrelServerOptions kestrel) =>
        kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);

    /// <summary>A cleartext and a TLS endpoint on free loopback ports.</summary>
    public static void ListenWithTls(KestrelServerOptions kestrel)
    {
        kestrel.Listen(System.Net.IPAddress.Loopback, 0);
        kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.UseHttps(TestCertificate.Certificate));
    }

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
