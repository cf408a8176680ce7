using HalfClose.Kestrel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

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

        // Answers once the test releases it (Probe.Release), within 10 s, unless the request is aborted first.
        app.MapGet("/held", async (HttpContext context, string id) =>
        {
            using var registration = Watch(context, probe, id);
            await probe.Released(id).WaitAsync(TimeSpan.FromSeconds(10), context.RequestAborted);
            return $"held {id} done";
        });

        // The same, answering with the endpoint its request has once released (a request's endpoint is its own, whatever
        // other requests ran on the connection meanwhile: HTTP/2 streams overlap).
        app.MapGet("/held-endpoint", async (HttpContext context, string id) =>
        {
            using var registration = Watch(context, probe, id);
            await probe.Released(id).WaitAsync(TimeSpan.FromSeconds(10), context.RequestAborted);
            return context.GetEndpoint()?.DisplayName ?? "no endpoint";
        }).WithDisplayName("held-endpoint");

        // Never finishes on its own: only an abort ends it.
        app.MapGet("/hang", async (HttpContext context, string id) =>
        {
            using var registration = Watch(context, probe, id);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });

        // Reads the body to its end and says how much came. With id: tells the probe once a read returned bytes (a test
        // sends the rest while the handler waits for more).
        app.MapPost("/echo", async (HttpContext context, string? id) =>
        {
            var total = 0L;
            var buffer = new byte[8192];
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                total += read;
                if (id is not null)
                {
                    probe.OnStarted(id);
                }
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

        // A WebSocket-style upgrade answered on the raw stream. mode=reply: read to the end (the peer's FIN), answer with what
        // arrived, and close (hold=true: then wait for an abort instead). mode=first: send first and close without reading.
        // mode=halfclose: send first, half-close (the policy's ShutdownSendAsync), then read to the end and report it.
        app.MapGet("/ws", async (HttpContext context, string id, string? mode, bool? hold) =>
        {
            var upgrade = context.Features.Get<IHttpUpgradeFeature>();
            if (upgrade is not { IsUpgradableRequest: true })
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var registration = Watch(context, probe, id);
            context.Response.Headers.Upgrade = context.Request.Headers.Upgrade;
            if (context.Request.Headers.SecWebSocketKey.ToString() is { Length: > 0 } key)
            {
                // YARP checks it when it turns a WebSocket over HTTP/2 into this HTTP/1.1 upgrade (RFC 6455 section 4.2.2).
#pragma warning disable CA5350 // SHA-1 is what the WebSocket handshake specifies; no security rests on it.
                var hash = System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
#pragma warning restore CA5350
                context.Response.Headers.SecWebSocketAccept = Convert.ToBase64String(hash);
            }

            await using var stream = await upgrade.UpgradeAsync();
            if (mode is "first" or "halfclose")
            {
                await stream.WriteAsync(System.Text.Encoding.Latin1.GetBytes($"origin {id} first"), context.RequestAborted);
                await stream.FlushAsync(context.RequestAborted);
                if (mode == "first")
                {
                    return;
                }

                if (!await context.Features.GetRequiredFeature<IHalfCloseFeature>().ShutdownSendAsync(context.RequestAborted))
                {
                    throw new InvalidOperationException("The origin's policy could not half-close the upgraded connection.");
                }
            }

            var received = new MemoryStream();
            var buffer = new byte[8192];
            int read;
            try
            {
                while ((read = await stream.ReadAsync(buffer, context.RequestAborted)) > 0)
                {
                    received.Write(buffer, 0, read);
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                // Reset or aborted, not ended: reported now, as Kestrel cancels RequestAborted later, on the thread pool.
                probe.OnAborted(id);
                return;
            }

            probe.OnEnded(id);
            var text = System.Text.Encoding.Latin1.GetString(received.ToArray());
            probe.OnReceived(id, text);
            if (mode == "halfclose")
            {
                return;
            }

            await stream.WriteAsync(System.Text.Encoding.Latin1.GetBytes($"origin {id} got [{text}]"), context.RequestAborted);
            await stream.FlushAsync(context.RequestAborted);
            if (hold == true)
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
        });

        // Writes size bytes (Content-Length), chunk bytes at a time, waiting ms milliseconds after each chunk; stops
        // quietly when the request is aborted. A large or slow response for clients that stop reading or reset.
        app.MapGet("/stream", async (HttpContext context, long size, int chunk, int ms, string? id) =>
        {
            using var registration = id is null ? default : Watch(context, probe, id);
            context.Response.ContentLength = size;
            var block = new byte[(int)Math.Min(Math.Max(chunk, 1), Math.Max(size, 1))];
            block.AsSpan().Fill((byte)'x');
            try
            {
                for (var left = size; left > 0;)
                {
                    var count = (int)Math.Min(block.Length, left);
                    await context.Response.Body.WriteAsync(block.AsMemory(0, count), context.RequestAborted);
                    left -= count;
                    if (ms > 0 && left > 0)
                    {
                        await Task.Delay(ms, context.RequestAborted);
                    }
                }
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client is gone: nothing more to write, and nothing to report.
            }
            finally
            {
                // The token's callbacks run in reverse order on the cancelling thread: when the delay's callback resumes this
                // handler inline, the registration above is disposed before its callback runs. Report the abort here too.
                if (id is not null && context.RequestAborted.IsCancellationRequested)
                {
                    probe.OnAborted(id);
                }
            }
        });

        // shutdown=true: also asks to end the server's direction, which an ordinary (not upgraded) request must be refused.
        app.MapGet("/feature", async (HttpContext context, bool? shutdown) =>
        {
            var feature = context.Features.Get<IHalfCloseFeature>();
            if (feature is null)
            {
                return "no feature";
            }

            var text = $"supported={feature.IsSupported} halfClosed={feature.IsClientHalfClosed} protocol={context.Request.Protocol}";
            return shutdown == true ? $"{text} shutdownSend={await feature.ShutdownSendAsync(context.RequestAborted)}" : text;
        });
    }

    private static AbortWatch Watch(HttpContext context, Probe probe, string id)
    {
        probe.OnStarted(id);
        return new AbortWatch(context.RequestAborted.Register(() => probe.OnAborted(id)), context, probe, id);
    }

    /// <summary>Reports the request's abort to the probe, from the token's callback or, at the latest, when disposed.</summary>
    private readonly struct AbortWatch(CancellationTokenRegistration registration, HttpContext? context, Probe? probe, string? id) : IDisposable
    {
        public void Dispose()
        {
            registration.Dispose();

            // The token's callbacks run in reverse order on the cancelling thread: a handler resumed inline by its delay's
            // callback gets here before the callback above has run, and disposing it then drops it.
            if (context is { RequestAborted.IsCancellationRequested: true })
            {
                probe!.OnAborted(id!);
            }
        }
    }
}
