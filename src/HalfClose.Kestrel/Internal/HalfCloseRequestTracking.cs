using Microsoft.AspNetCore.Http;

namespace HalfClose.Kestrel.Internal;

/// <summary>The request middleware: tells the connection when a request starts and ends (phases, requests after FIN).</summary>
internal sealed class HalfCloseRequestTracking(EndpointPolicies endpoints)
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        // Only HTTP/1.x requests follow one another on their connection; HTTP/2's streams overlap, and the policy leaves
        // them alone (asked first: it costs less than the feature's lookup).
        if (!IsHttp1(context.Request.Protocol) || HalfCloseConnection.Of(context.Features) is not { } connection)
        {
            return next(context);
        }

        connection.RequestStarted(context, endpoints.AnyEndpointDecides);
        Task pipeline;
        try
        {
            pipeline = next(context);
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

    private static bool IsHttp1(string protocol) => HttpProtocol.IsHttp11(protocol) || HttpProtocol.IsHttp10(protocol);
}
