using HalfClose.Kestrel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>The handlers every test server exposes, directly or behind the proxy.</summary>
public static class OriginApp
{
    public static void Map(WebApplication app, Probe probe)
    {
        app.MapGet("/", () => "hello");

        // Waits ms milliseconds, unless the request is aborted first.
        async Task<string> Slow(HttpContext context, int ms, string id)
        {
            using var registration = Watch(context, probe, id);
            await Task.Delay(ms, context.RequestAborted);
            return $"slow {id} done";
        }

        app.MapGet("/slow", Slow);

        // The same, with an endpoint's own client-FIN policy (where the policy runs in this application).
        app.MapGet("/policy/serve/slow", Slow).WithHalfClosePolicy(ClientFinMode.Serve);
        app.MapGet("/policy/abort/slow", Slow).WithHalfClosePolicy(ClientFinMode.Abort);

        // Never finishes on its own: only an abort ends it.
        app.MapGet("/hang", async (HttpContext context, string id) =>
        {
            using var registration = Watch(context, probe, id);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });

        app.MapPost("/echo", async (HttpContext context) =>
        {
            var total = 0L;
            var buffer = new byte[8192];
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                total += read;
            }

            return $"received {total} bytes";
        });

        // Waits for the client's FIN through IHalfCloseFeature, then says what it saw.
        app.MapGet("/wait-fin", async (HttpContext context, string id) =>
        {
            using var registration = Watch(context, probe, id);
            var feature = context.Features.Get<IHalfCloseFeature>();
            if (feature is null)
            {
                return "no feature";
            }

            var fin = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (feature.ClientHalfClosed.Register(() => fin.TrySetResult()))
            {
                await fin.Task.WaitAsync(TimeSpan.FromSeconds(10), context.RequestAborted);
            }

            return $"supported={feature.IsSupported} halfClosed={feature.IsClientHalfClosed} aborted={context.RequestAborted.IsCancellationRequested}";
        });

        // Answers 413 at once, without reading the body: the early answer to an upload that lingering close protects.
        app.MapPost("/upload-rejected", (HttpContext context) =>
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            return context.Response.WriteAsync("too large");
        });

        app.MapGet("/feature", (HttpContext context) =>
        {
            var feature = context.Features.Get<IHalfCloseFeature>();
            return feature is null ? "no feature" : $"supported={feature.IsSupported} halfClosed={feature.IsClientHalfClosed} protocol={context.Request.Protocol}";
        });
    }

    private static CancellationTokenRegistration Watch(HttpContext context, Probe probe, string id)
    {
        probe.OnStarted(id);
        return context.RequestAborted.Register(() => probe.OnAborted(id));
    }
}
