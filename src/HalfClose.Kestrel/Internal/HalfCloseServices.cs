using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HalfClose.Kestrel.Internal;

/// <summary>Builds the shared per-endpoint state from the application's services.</summary>
internal static class HalfCloseServices
{
    /// <summary>
    /// The app-wide context when the endpoint adds nothing of its own; otherwise one for this endpoint:
    /// the <c>HalfClose</c> section, then the app-wide code configuration, then the endpoint's.
    /// </summary>
    public static HalfCloseContext GetContext(IServiceProvider services, Action<HalfClosePolicyOptions>? endpointConfigure)
    {
        var registration = services.GetService<HalfClosePolicyRegistration>();
        if (registration is not null && endpointConfigure is null)
        {
            return services.GetRequiredService<HalfCloseContext>();
        }

        return CreateContext(services, registration?.Configure + endpointConfigure);
    }

    public static HalfCloseContext CreateContext(IServiceProvider services, Action<HalfClosePolicyOptions>? configure)
    {
        var logger = (services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger(HalfCloseLog.CategoryName);
        var section = services.GetService<IConfiguration>()?.GetSection(HalfClosePolicyOptions.SectionName);
        var source = new HalfClosePolicySource(section, configure, logger);
        var metrics = services.GetService<HalfCloseMetrics>() ?? new HalfCloseMetrics(services.GetService<IMeterFactory>());
        var tracksRequests = services.GetService<HalfClosePolicyRegistration>() is not null;
        return new HalfCloseContext(source, logger, metrics, services.GetService<TimeProvider>() ?? TimeProvider.System, tracksRequests);
    }
}
