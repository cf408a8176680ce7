using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HalfClose.Kestrel.Internal;

/// <summary>Builds the shared per-endpoint state from the application's services.</summary>
internal static class HalfCloseServices
{
    // An endpoint's own policy, found by the endpoint: one connection, one policy, final before the connection is built.
    private static readonly ConditionalWeakTable<ListenOptions, HalfCloseContext> EndpointContexts = [];

    /// <summary>
    /// The endpoint's own context when it has one (the <c>HalfClose</c> section, then the app-wide code configuration,
    /// then the endpoint's), kept for the endpoint's other policy middleware; otherwise the app-wide one.
    /// </summary>
    public static HalfCloseContext GetContext(ListenOptions listenOptions, Action<HalfClosePolicyOptions>? endpointConfigure)
    {
        var services = listenOptions.ApplicationServices;
        var registration = services.GetService<HalfClosePolicyRegistration>();
        if (endpointConfigure is not null)
        {
            var context = CreateContext(services, registration?.Configure + endpointConfigure);
            EndpointContexts.AddOrUpdate(listenOptions, context);
            return context;
        }

        if (EndpointContexts.TryGetValue(listenOptions, out var own))
        {
            return own;
        }

        return registration is not null ? services.GetRequiredService<HalfCloseContext>() : CreateContext(services, null);
    }

    public static HalfCloseContext CreateContext(IServiceProvider services, Action<HalfClosePolicyOptions>? configure)
    {
        var logger = (services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger(HalfCloseLog.CategoryName);
        var section = services.GetService<IConfiguration>()?.GetSection(HalfClosePolicyOptions.SectionName);
        var source = new HalfClosePolicySource(section, configure, logger);
        var metrics = services.GetService<HalfCloseMetrics>() ?? new HalfCloseMetrics(services.GetService<IMeterFactory>());
        var tracksRequests = services.GetService<HalfClosePolicyRegistration>() is not null;
        var watcher = services.GetService<SocketWatcher>() ?? SocketWatcher.Native;
        watcher.Announce(logger);
        return new HalfCloseContext(source, logger, metrics, services.GetService<TimeProvider>() ?? TimeProvider.System, tracksRequests, watcher)
        {
            WatchesTransportOutput = services.GetService<OwnSendPath>() is null,
        };
    }
}
