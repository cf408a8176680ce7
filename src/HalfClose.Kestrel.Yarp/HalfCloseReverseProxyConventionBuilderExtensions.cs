using HalfClose.Kestrel.Yarp.Internal;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Turns YARP route metadata into the half-close policy's endpoint metadata.</summary>
public static class HalfCloseReverseProxyConventionBuilderExtensions
{
    /// <summary>
    /// Gives every route with <c>"Metadata": { "HalfClose.ClientFin": "Serve" | "Abort" }</c> that client-FIN policy: when
    /// the client's FIN arrives while one of the route's requests is in flight, the route's value decides instead of the
    /// connection's (the <c>HalfClose</c> section). Values are validated at load by <c>AddReverseProxy().AddHalfClosePolicy()</c>;
    /// a value that is not a mode is never applied.
    /// </summary>
    /// <param name="builder">What <c>app.MapReverseProxy()</c> returned.</param>
    /// <returns>The <paramref name="builder"/>.</returns>
    public static ReverseProxyConventionBuilder WithHalfClosePolicyFromRouteMetadata(this ReverseProxyConventionBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureEndpoints(static (endpoint, route) =>
        {
            if (RouteMetadata.ClientFin(route, out _) is { } clientFin)
            {
                endpoint.WithHalfClosePolicy(clientFin);
            }
        });
    }
}
