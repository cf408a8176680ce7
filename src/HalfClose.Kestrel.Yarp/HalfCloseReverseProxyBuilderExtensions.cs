using HalfClose.Kestrel.Yarp.Internal;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the half-close policy's YARP integration to a reverse proxy.</summary>
public static class HalfCloseReverseProxyBuilderExtensions
{
    /// <summary>
    /// Validates the <c>HalfClose.ClientFin</c> key of every route's <c>Metadata</c> when the proxy configuration loads: an
    /// unknown value fails start (and a reload is rejected, with the last good configuration kept), with a message naming
    /// the route and the value. Apply the values with <c>app.MapReverseProxy().WithHalfClosePolicyFromRouteMetadata()</c>.
    /// </summary>
    /// <param name="builder">The reverse proxy builder (<c>services.AddReverseProxy()</c>).</param>
    /// <returns>The <paramref name="builder"/>.</returns>
    public static IReverseProxyBuilder AddHalfClosePolicy(this IReverseProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IProxyConfigFilter, HalfCloseRouteFilter>());
        return builder;
    }
}
