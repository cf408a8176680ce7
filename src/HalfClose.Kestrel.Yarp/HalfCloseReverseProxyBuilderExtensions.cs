using HalfClose.Kestrel.Internal;
using HalfClose.Kestrel.Yarp.Internal;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the half-close policy's YARP integration to a reverse proxy.</summary>
public static class HalfCloseReverseProxyBuilderExtensions
{
    /// <summary>
    /// Validates the <c>HalfClose.ClientFin</c> key of every route's <c>Metadata</c> when the proxy configuration loads: an
    /// unknown value fails start (and a reload is rejected, with the last good configuration kept), with a message naming
    /// the route and the value. Apply the values with <c>app.MapReverseProxy().WithHalfClosePolicyFromRouteMetadata()</c>.
    /// <para>
    /// And carries the client's half-close through HTTP/1.1 upgrade tunnels (WebSockets) to cleartext destinations: when the
    /// client sends FIN (served under <c>ClientFin: Serve</c>), the destination gets FIN after every byte before it, and its
    /// bytes keep flowing to the client until it closes. This replaces YARP's default <see cref="IForwarderHttpClientFactory"/>
    /// with one derived from it (with a connection callback of its own); a factory of the application's own is left in place,
    /// and its tunnels are not half-closed.
    /// </para>
    /// </summary>
    /// <param name="builder">The reverse proxy builder (<c>services.AddReverseProxy()</c>).</param>
    /// <returns>The <paramref name="builder"/>.</returns>
    public static IReverseProxyBuilder AddHalfClosePolicy(this IReverseProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IProxyConfigFilter, HalfCloseRouteFilter>());

        var clientFactory = builder.Services.LastOrDefault(d => d.ServiceType == typeof(IForwarderHttpClientFactory));
        if (clientFactory is null || (!clientFactory.IsKeyedService && clientFactory.ImplementationType == typeof(ForwarderHttpClientFactory)))
        {
            builder.Services.Replace(ServiceDescriptor.Singleton<IForwarderHttpClientFactory, HalfCloseForwarderHttpClientFactory>());
            builder.Services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, TunnelStartupFilter>());
            builder.Services.TryAddSingleton<IRequestHook>(TunnelMiddleware.Instance);
        }
        return builder;
    }
}
