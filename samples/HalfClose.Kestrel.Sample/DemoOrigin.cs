using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace HalfClose.Kestrel.Sample;

/// <summary>The embedded origin the sample proxies to when no destination is configured: plain Kestrel, no policy.</summary>
public static class DemoOrigin
{
    /// <summary>Starts the origin on a free loopback port.</summary>
    /// <returns>The running origin; its address is in <c>Urls</c>.</returns>
    public static async Task<WebApplication> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();

        // The proxy's appsettings.json (Urls, HalfClose) is not the origin's: it is plain Kestrel on a free port.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Urls"] = "http://127.0.0.1:0" });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        // The origin serves half-closed connections too: the WebSocket echo answers after the client's FIN reaches it.
        builder.WebHost.UseHalfClosePolicy();
        var app = builder.Build();
        app.MapGet("/", () => "Hello from the demo origin, through the half-close proxy.\n");
        app.MapGet("/slow", async (int? ms, CancellationToken aborted) =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(ms ?? 500, 0, 10_000)), aborted);
            return "Slow hello from the demo origin.\n";
        });
        app.MapPost("/echo", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
            return $"Received {body.Length} characters.\n";
        });

        // A WebSocket-style upgrade, echoed on the raw stream; at the client's end (its FIN, through the proxy), a last line.
        app.MapGet("/ws", async (HttpContext context) =>
        {
            if (context.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true } upgrade)
            {
                return Results.BadRequest("Send Connection: Upgrade and Upgrade: websocket.\n");
            }

            // The 101 names the protocol switched to (Kestrel adds Connection: Upgrade).
            context.Response.Headers.Upgrade = context.Request.Headers.Upgrade;
            await using var stream = await upgrade.UpgradeAsync();
            var buffer = new byte[4096];
            long total = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                total += read;
                await stream.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
            }

            await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes($"The demo origin saw your FIN after {total} bytes. Bye.\n"), context.RequestAborted);
            return Results.Empty;
        });
        await app.StartAsync();
        return app;
    }
}
