using System.Diagnostics;
using System.Net.Sockets;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>What a raw upload saw: how much it sent, how sending ended, and what it read.</summary>
public sealed record UploadResult(long Sent, SocketException? SendError, RawResult Result, TimeSpan Elapsed)
{
    /// <summary>
    /// How the server ended the connection. A reset reaches whichever of the concurrent send and read asks first: a
    /// send that failed (the client never shut its own side while sending) means a reset even when the read then saw 0.
    /// </summary>
    public Ending Ending => SendError is not null ? Ending.Reset : Result.Ending;
}

/// <summary>A raw client that sends a request, then a stream of bytes, while reading the answer at the same time.</summary>
public static class RawUpload
{
    /// <summary>Posts <paramref name="length"/> bytes of body to <c>/upload-rejected</c>, which answers 413 without reading it.</summary>
    public static Task<UploadResult> RunAsync(int port, long length, bool finAfterSend) =>
        RunAsync(port, $"POST /upload-rejected HTTP/1.1\r\nHost: test\r\nContent-Length: {length}\r\n\r\n", length, finAfterSend);

    /// <summary>Sends <paramref name="request"/>, then <paramref name="length"/> more bytes, paced if asked.</summary>
    public static async Task<UploadResult> RunAsync(int port, string request, long length, bool finAfterSend, int paceBytesPerSecond = 0)
    {
        var started = Stopwatch.StartNew();
        await using var client = await RawHttpClient.ConnectAsync(port);
        await client.SendAsync(request);
        var reading = client.ReadToEndAsync(TimeSpan.FromSeconds(30));

        var chunk = new byte[64 * 1024];

        long sent = 0;
        SocketException? error = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (sent < length && !timeout.IsCancellationRequested)
            {
                var count = (int)Math.Min(chunk.Length, length - sent);
                sent += await client.Socket.SendAsync(chunk.AsMemory(0, count), SocketFlags.None, timeout.Token);
                if (paceBytesPerSecond > 0 && sent * 1000 / paceBytesPerSecond > started.ElapsedMilliseconds)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(sent * 1000 / paceBytesPerSecond - started.ElapsedMilliseconds), timeout.Token);
                }
            }

            if (finAfterSend)
            {
                client.HalfClose();
            }
        }
        catch (SocketException ex)
        {
            error = ex;
        }
        catch (OperationCanceledException)
        {
        }

        var result = await reading;
        return new UploadResult(sent, error, result, started.Elapsed);
    }
}
