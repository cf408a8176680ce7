using System.Net.WebSockets;
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

        // The origin serves half-closed connections too: the raw echo answers after the client's FIN reaches it.
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

        // A WebSocket echo: every message back as it came; the client's close answered with the origin's own.
        app.UseWebSockets();
        app.Map("/ws", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                return Results.BadRequest("A WebSocket endpoint: connect with a WebSocket client (ws://host/ws).\n");
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[4096];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "Bye from the demo origin.", context.RequestAborted);
                    return Results.Empty;
                }

                await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, context.RequestAborted);
            }
        });

        // A raw tunnel for nc: the WebSocket upgrade handshake (YARP 2.3 forwards an HTTP/1.1 upgrade when it names
        // websocket), then bytes echoed as they come, not frames; at the client's end (its FIN, through the proxy), a last line.
        app.MapGet("/raw", async (HttpContext context) =>
        {
            if (context.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true } upgrade)
            {
                return Results.BadRequest("Send Connection: Upgrade and Upgrade: websocket.\n");
            }

            // The 101 names the protocol switched to (Kestrel adds Connection: Upgrade), and answers the key as RFC 6455 asks.
            context.Response.Headers.Upgrade = context.Request.Headers.Upgrade;
            if (context.Request.Headers.SecWebSocketKey.ToString() is { Length: > 0 } key)
            {
                context.Response.Headers.SecWebSocketAccept = WebSocketAccept(key);
            }

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

    /// <summary>RFC 6455 section 4.2.2: the key and the protocol's GUID, SHA-1, base64.</summary>
    private static string WebSocketAccept(string key)
    {
#pragma warning disable CA5350 // SHA-1 is what the WebSocket handshake specifies; no security rests on it.
        var hash = System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
#pragma warning restore CA5350
        return Convert.ToBase64String(hash);
    }
}
