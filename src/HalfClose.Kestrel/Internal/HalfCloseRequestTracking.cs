using Microsoft.AspNetCore.Http;

namespace HalfClose.Kestrel.Internal;

/// <summary>The request middleware: tells the connection when a request starts and ends (phases, requests after FIN).</summary>
internal static class HalfCloseRequestTracking
{
    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Features.Get<IHalfCloseFeature>() is not HalfCloseConnection connection)
        {
            return next(context);
        }

        connection.RequestStarted(context);
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

        return AwaitAsync(pipeline, context, connection);
    }

    private static async Task AwaitAsync(Task pipeline, HttpContext context, HalfCloseConnection connection)
    {
        try
        {
            await pipeline.ConfigureAwait(false);
        }
        finally
        {
            connection.RequestEnded(context);
        }
    }
}
