using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Work another of the policy's packages does on requests (the YARP package's upgrade tunnels), run by the request middleware
/// rather than by a middleware of its own: a request then costs one middleware, and the request's protocol and
/// <c>Connection</c> header are read once.
/// </summary>
internal interface IRequestHook
{
    /// <summary>An HTTP/1.x request that can be upgraded; <paramref name="upgrade"/> is its upgrade feature as the request has it now.</summary>
    Task InvokeUpgradable(HttpContext context, IHttpUpgradeFeature upgrade, RequestDelegate next);

    /// <summary>An HTTP/1.x request on a connection without the policy.</summary>
    Task InvokeHttp1(HttpContext context, RequestDelegate next);

    /// <summary>A request of a multiplexed protocol (HTTP/2, HTTP/3).</summary>
    Task InvokeMultiplexed(HttpContext context, RequestDelegate next);
}
