using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>
/// For an HTTP/1.1 upgrade request: a <see cref="TunnelLink"/> for the request's flow, and the upgrade feature that passes
/// the client's FIN to the destination once the proxy has upgraded the connection. Other requests pass untouched.
/// </summary>
internal static class TunnelMiddleware
{
    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true } upgrade)
        {
            return next(context);
        }

        return InvokeUpgradableAsync(context, upgrade, next);
    }

    private static async Task InvokeUpgradableAsync(HttpContext context, IHttpUpgradeFeature upgrade, RequestDelegate next)
    {
        var link = new TunnelLink(context.Features.Get<IHalfCloseFeature>());
        var previous = TunnelLink.Current;
        TunnelLink.Current = link;
        context.Features.Set<IHttpUpgradeFeature>(new TunnelUpgradeFeature(upgrade, link));
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            TunnelLink.Current = previous;
        }
    }
}
