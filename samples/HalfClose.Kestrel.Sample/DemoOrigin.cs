using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
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
        await app.StartAsync();
        return app;
    }
}
