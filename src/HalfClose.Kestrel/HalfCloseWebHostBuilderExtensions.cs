using System.Diagnostics.Metrics;
using HalfClose.Kestrel;
using HalfClose.Kestrel.Internal;
using HalfClose.Kestrel.Internal.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Adds the TCP half-close policy to every Kestrel endpoint of a web host.</summary>
public static class HalfCloseWebHostBuilderExtensions
{
    /// <summary>
    /// Applies the half-close policy to every Kestrel endpoint, configured from the <c>HalfClose</c> section of
    /// the application's configuration. It is installed as connection middleware through Kestrel's endpoint defaults, and
    /// an endpoint bound without it (the application set endpoint defaults of its own afterwards) gets it from the socket
    /// transport, which is decorated for that. <c>listenOptions.UseHalfClosePolicy(...)</c> gives an endpoint its own settings.
    /// </summary>
    /// <param name="builder">The web host builder.</param>
    /// <returns>The <paramref name="builder"/>.</returns>
    public static IWebHostBuilder UseHalfClosePolicy(this IWebHostBuilder builder) => Use(builder, configure: null);

    /// <summary>Applies the half-close policy to every Kestrel endpoint, with code settings applied after the configuration's.</summary>
    /// <param name="builder">The web host builder.</param>
    /// <param name="configure">Sets the policy; applied after the <c>HalfClose</c> configuration section.</param>
    /// <returns>The <paramref name="builder"/>.</returns>
    public static IWebHostBuilder UseHalfClosePolicy(this IWebHostBuilder builder, Action<HalfClosePolicyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return Use(builder, configure);
    }

    private static IWebHostBuilder Use(IWebHostBuilder builder, Action<HalfClosePolicyOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureServices(services =>
        {
            services.RemoveAll<HalfClosePolicyRegistration>();
            services.AddSingleton(new HalfClosePolicyRegistration(configure));
            services.TryAddSingleton(sp => new HalfCloseMetrics(sp.GetService<IMeterFactory>()));
            services.TryAddSingleton(sp => HalfCloseServices.CreateContext(sp, sp.GetRequiredService<HalfClosePolicyRegistration>().Configure));
            services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, HalfCloseStartupFilter>());
            services.TryAddSingleton<HalfCloseEndpoints>();
            DecorateSocketTransport(services);

            // First in line, so that endpoints added by earlier ConfigureKestrel calls get the defaults too.
            services.Insert(0, ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>>(
                new ConfigureOptions<KestrelServerOptions>(static options =>
                    options.ConfigureEndpointDefaults(static listenOptions => listenOptions.UseHalfClosePolicy()))));
        });
    }

    /// <summary>The socket transport Kestrel registered, wrapped where it stands (its order among transports is kept).</summary>
    private static void DecorateSocketTransport(IServiceCollection services)
    {
        for (var i = 0; i < services.Count; i++)
        {
            if (services[i].ServiceType == typeof(IConnectionListenerFactory) && services[i].ImplementationType == typeof(SocketTransportFactory))
            {
                services[i] = ServiceDescriptor.Singleton<IConnectionListenerFactory>(static sp => new HalfCloseListenerFactory(
                    new SocketTransportFactory(sp.GetRequiredService<IOptions<SocketTransportOptions>>(), sp.GetRequiredService<ILoggerFactory>()),
                    sp.GetRequiredService<HalfCloseContext>(),
                    sp.GetRequiredService<HalfCloseEndpoints>()));
            }
        }
    }
}
