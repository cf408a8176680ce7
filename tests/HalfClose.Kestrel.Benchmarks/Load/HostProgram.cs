using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// The child process side: <c>host KIND [ORIGIN_URL]</c> starts one server on 127.0.0.1:0, prints
/// <see cref="ReadyPrefix"/> and its address, and runs until its standard input closes. Each <see cref="CountersQuery"/>
/// line on its standard input is answered with <see cref="CountersPrefix"/> and its <see cref="HostCounters"/>.
/// </summary>
internal static class HostProgram
{
    public const string ReadyPrefix = "LISTENING ";

    public const string CountersQuery = "counters";

    public const string CountersPrefix = "COUNTERS ";

    /// <summary>The environment variable that fixes the host's thread-pool worker threads (its minimum and maximum).</summary>
    public const string PoolThreadsVariable = "HALFCLOSE_LOAD_POOL_THREADS";

    private static readonly byte[] Body = "Hello, half-close!\n"u8.ToArray();

    public static async Task<int> RunAsync(string[] args)
    {
        HostKind? kind = args.Length > 0 ? HostKinds.Parse(args[0]) : null;
        var valid = kind switch
        {
            HostKind.Kestrel or HostKind.KestrelPolicy or HostKind.KestrelTwin or HostKind.KestrelFloor => args.Length == 1,
            HostKind.Yarp or HostKind.YarpPolicy => args.Length == 2,
            _ => false,
        };
        if (!valid)
        {
            await Console.Error.WriteLineAsync("usage: host kestrel|kestrel+policy|kestrel'|kestrel+floor | host yarp|yarp+policy ORIGIN_URL");
            return 2;
        }

        if (Environment.GetEnvironmentVariable(PoolThreadsVariable) is { } fixedThreads && !FixPoolThreads(fixedThreads))
        {
            await Console.Error.WriteLineAsync($"{PoolThreadsVariable}={fixedThreads}: not a thread count the pool takes.");
            return 2;
        }

        HostCounters.CountExceptions();
        await using var app = Build(kind!.Value, args.Length > 1 ? args[1] : null);
        await app.StartAsync();
        Console.WriteLine(ReadyPrefix + app.Urls.First());

        // The runner closes our standard input to stop us (and it closes when the runner dies).
        while (await Console.In.ReadLineAsync() is { } line)
        {
            if (line == CountersQuery)
            {
                Console.WriteLine(CountersPrefix + HostCounters.Now().Format());
            }
        }

        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(stopping.Token);
        return 0;
    }

    private static bool FixPoolThreads(string value)
    {
        if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var threads) || threads < 1)
        {
            return false;
        }

        ThreadPool.GetMinThreads(out _, out var minIo);
        ThreadPool.GetMaxThreads(out _, out var maxIo);
        return ThreadPool.SetMinThreads(threads, minIo) && ThreadPool.SetMaxThreads(threads, maxIo);
    }

    private static WebApplication Build(HostKind kind, string? originUrl)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Urls"] = "http://127.0.0.1:0" });
        builder.Logging.ClearProviders();
        if (HostKinds.HasPolicy(kind))
        {
            builder.WebHost.UseHalfClosePolicy();
        }
        else if (kind == HostKind.KestrelFloor)
        {
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(
                endpoint => endpoint.Use(next => connection => FloorMiddleware.OnConnectionAsync(next, connection))));
        }

        if (originUrl is not null)
        {
            // With the policy, as the sample has it: the YARP integration too (route metadata, tunnel half-close).
            var proxy = builder.Services.AddReverseProxy().LoadFromMemory([Route], [Cluster(originUrl)]);
            if (HostKinds.HasPolicy(kind))
            {
                proxy.AddHalfClosePolicy();
            }
        }

        var app = builder.Build();
        if (originUrl is not null)
        {
            var endpoints = app.MapReverseProxy();
            if (HostKinds.HasPolicy(kind))
            {
                endpoints.WithHalfClosePolicyFromRouteMetadata();
            }
        }
        else
        {
            app.MapGet("/", Hello);
        }

        return app;
    }

    private static RouteConfig Route => new()
    {
        RouteId = "all",
        ClusterId = "origin",
        Match = new RouteMatch { Path = "{**catch-all}" },
    };

    private static ClusterConfig Cluster(string originUrl) => new()
    {
        ClusterId = "origin",
        Destinations = new Dictionary<string, DestinationConfig> { ["origin"] = new() { Address = originUrl } },
    };

    /// <summary>The trivial handler; with a Content-Length, which the load client's keep-alive reader relies on.</summary>
    private static Task Hello(HttpContext context)
    {
        context.Response.ContentType = "text/plain";
        context.Response.ContentLength = Body.Length;
        return context.Response.Body.WriteAsync(Body, context.RequestAborted).AsTask();
    }
}
