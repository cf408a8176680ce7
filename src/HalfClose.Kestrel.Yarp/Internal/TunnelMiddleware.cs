using HalfClose.Kestrel.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>
/// For a request that may become a tunnel (an HTTP/1.1 upgrade, or an HTTP/2 extended CONNECT): a <see cref="TunnelLink"/>
/// for the request's flow, and the feature whose stream passes the client's end to the destination once the proxy has
/// opened the tunnel. Other requests pass untouched. Run by the policy's request middleware where the application has
/// one (<see cref="IRequestHook"/>: it has read the request's protocol and <c>Connection</c> header already), as a
/// middleware of its own otherwise.
/// </summary>
internal sealed class TunnelMiddleware : IRequestHook
{
    public static readonly TunnelMiddleware Instance = new();

    /// <summary>As a middleware of its own (<c>app.Use(next => ...)</c>).</summary>
    public static RequestDelegate Create(RequestDelegate next) => context =>
        HalfCloseRequestTracking.IsHttp1(context.Request.Protocol)
            ? Instance.InvokeHttp1(context, next)
            : Instance.InvokeMultiplexed(context, next);

    public Task InvokeHttp1(HttpContext context, RequestDelegate next)
    {
        // Only a request with a Connection header (Connection: upgrade) can be upgraded: most have none, and skip the
        // lookup. The indexer rather than Get<T>, a generic virtual call resolved on every request.
        return context.Request.Headers.Connection.Count != 0
            && context.Features[typeof(IHttpUpgradeFeature)] is IHttpUpgradeFeature { IsUpgradableRequest: true } upgrade
            ? InvokeUpgradable(context, upgrade, next)
            : next(context);
    }

    public Task InvokeUpgradable(HttpContext context, IHttpUpgradeFeature upgrade, RequestDelegate next)
    {
        // The client's connection gets a TCP FIN when the destination ends, if the policy can send one.
        var link = new TunnelLink(context.Features.Get<IHalfCloseFeature>() is { IsSupported: true } halfClose ? halfClose.ShutdownSendAsync : null);
        context.Features.Set<IHttpUpgradeFeature>(new TunnelUpgradeFeature(upgrade, link));
        return InvokeLinkedAsync(context, link, next);
    }

    public Task InvokeMultiplexed(HttpContext context, RequestDelegate next)
    {
        // Extended CONNECT is HTTP/2's and HTTP/3's (RFC 8441, RFC 9220).
        return context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect
            ? InvokeExtendedConnectAsync(context, connect, next)
            : next(context);
    }

    /// <remarks>
    /// A method of its own: with the lambda below (it captures <paramref name="context"/>) in <see cref="InvokeMultiplexed"/>,
    /// the closure for the capture was allocated for every request, 24 B, not only for an extended CONNECT.
    /// </remarks>
    private static Task InvokeExtendedConnectAsync(HttpContext context, IHttpExtendedConnectFeature connect, RequestDelegate next)
    {
        // The client's stream gets END_STREAM when the destination ends; its request body is still read.
        var link = new TunnelLink(_ => CompleteResponseAsync(context));
        context.Features.Set<IHttpExtendedConnectFeature>(new TunnelExtendedConnectFeature(connect, link));
        return InvokeLinkedAsync(context, link, next);
    }

    private static async Task InvokeLinkedAsync(HttpContext context, TunnelLink link, RequestDelegate next)
    {
        var previous = TunnelLink.Current;
        TunnelLink.Current = link;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            TunnelLink.Current = previous;
        }
    }

    private static async ValueTask<bool> CompleteResponseAsync(HttpContext context)
    {
        await context.Response.CompleteAsync().ConfigureAwait(false);
        return true;
    }
}
