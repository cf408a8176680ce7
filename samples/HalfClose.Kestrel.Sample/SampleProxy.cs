using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HalfClose.Kestrel.Sample;

/// <summary>The sample YARP proxy with the half-close policy, and its embedded demo origin when it needs one.</summary>
public sealed class SampleProxy : IAsyncDisposable
{
    private SampleProxy(WebApplication app, WebApplication? origin, string originAddress)
    {
        App = app;
        Origin = origin;
        OriginAddress = originAddress;
    }

    /// <summary>The proxy.</summary>
    public WebApplication App { get; }

    /// <summary>The embedded demo origin, when no destination was configured.</summary>
    public WebApplication? Origin { get; }

    /// <summary>Where the proxy forwards to.</summary>
    public string OriginAddress { get; }

    /// <summary>The addresses the proxy listens on.</summary>
    public IReadOnlyCollection<string> Urls =>
        App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];

    /// <summary>The first address as <c>host port</c>, the way nc takes it.</summary>
    public string Host => Urls.Select(url => new Uri(url)).Select(uri => $"{uri.Host} {uri.Port}").FirstOrDefault() ?? "";

    /// <summary>Builds and starts the proxy from <paramref name="args"/> and appsettings.json.</summary>
    /// <param name="args">Command-line arguments; any configuration key, e.g. <c>--HalfClose:ClientFin=Abort</c>.</param>
    /// <param name="configure">More set-up of the builder, before the proxy is built.</param>
    /// <returns>The started proxy.</returns>
    public static async Task<SampleProxy> StartAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.WebHost.UseHalfClosePolicy();
        configure?.Invoke(builder);

        WebApplication? origin = null;
        var cluster = builder.Configuration.GetSection("ReverseProxy:Clusters:demo");
        var originAddress = cluster.GetSection("Destinations").GetChildren().Select(d => d["Address"]).FirstOrDefault(a => a is not null);
        if (originAddress is null)
        {
            origin = await DemoOrigin.StartAsync();
            originAddress = origin.Urls.First();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ReverseProxy:Clusters:demo:Destinations:origin:Address"] = originAddress,
            });
        }

        // AddHalfClosePolicy: route metadata "HalfClose.ClientFin" validated at load.
        builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy")).AddHalfClosePolicy();
        builder.Services.AddSingleton<HalfCloseStats>();
        var app = builder.Build();

        // Listening from the start, before the first connection.
        var stats = app.Services.GetRequiredService<HalfCloseStats>();
        app.MapGet("/halfclose/stats", () => stats.Snapshot());
        app.MapReverseProxy().WithHalfClosePolicyFromRouteMetadata();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            if (origin is not null)
            {
                await StopAndDisposeAsync(origin);
            }

            throw;
        }

        return new SampleProxy(app, origin, originAddress);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAndDisposeAsync(App);
        if (Origin is not null)
        {
            await StopAndDisposeAsync(Origin);
        }
    }

    private static async Task StopAndDisposeAsync(WebApplication app)
    {
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await app.StopAsync(stopping.Token);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
