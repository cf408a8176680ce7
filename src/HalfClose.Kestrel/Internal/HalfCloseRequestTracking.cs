using Microsoft.AspNetCore.Http;

namespace HalfClose.Kestrel.Internal;

/// <summary>The request middleware: tells the connection when a request starts and ends (phases, requests after FIN).</summary>
/// <remarks>
/// Built with the next middleware (<c>app.Use(next => ...)</c>): a request costs one delegate call into it, where a
/// middleware given as <c>(context, next)</c> costs two and a closure's.
/// </remarks>
internal sealed class HalfCloseRequestTracking(EndpointPolicies endpoints, IRequestHook? hook, RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        // Only HTTP/1.x requests follow one another on their connection; HTTP/2's streams overlap, and the policy leaves
        // them alone (asked first: it costs less than the feature's lookup).
        if (!IsHttp1(context.Request.Protocol))
        {
            return hook is null ? next(context) : hook.InvokeMultiplexed(context, next);
        }

        if (HalfCloseConnection.OfRequest(context.Features) is not { } connection)
        {
            return hook is null ? next(context) : hook.InvokeHttp1(context, next);
        }

        var upgrade = connection.RequestStarted(context, endpoints.AnyEndpointDecides);
        Task pipeline;
        try
        {
            pipeline = upgrade is null || hook is null ? next(context) : hook.InvokeUpgradable(context, upgrade, next);
        }
        catch
        {
            connection.RequestEnded(context);
            throw;
        }

        if (pipeline.IsCompletedSuccessfully)
        {
            connection.RequestEnded(context);
            return Task.CompletedTask;
        }

        // Still running (a proxied request, say): Kestrel tells the end once the response is complete, and gets the
        // pipeline's own task, with no state machine of this middleware's awaiting it.
        connection.EndOnCompleted(context);
        return pipeline;
    }

    /// <summary>Whether the request is HTTP/1.1 or HTTP/1.0 (the YARP package's tunnel asks the same).</summary>
    internal static bool IsHttp1(string protocol) => HttpProtocol.IsHttp11(protocol) || HttpProtocol.IsHttp10(protocol);
}
