using Yarp.ReverseProxy.Configuration;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>
/// Validates the half-close keys of every route as YARP loads its configuration: a bad value rejects the route. At start
/// YARP then fails <c>MapReverseProxy()</c>; on a reload it logs the error and keeps the last good configuration.
/// </summary>
internal sealed class HalfCloseRouteFilter : IProxyConfigFilter
{
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel) => new(cluster);

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel)
    {
        RouteMetadata.ClientFin(route, out var error);
        if (error is not null)
        {
            throw new InvalidOperationException(error);
        }

        return new(route);
    }
}
