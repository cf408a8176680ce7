using System.Net;
using System.Net.Sockets;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>One request on a connection of its own: connect, send, optionally half-close, read until the server closes.</summary>
internal static class OneShotRequest
{
    private static readonly byte[] Ok = "HTTP/1.1 200 "u8.ToArray();

    /// <param name="buffer">The worker's receive buffer; it keeps the response's first bytes.</param>
    public static async Task<OneShotOutcome> SendAsync(
        IPEndPoint endpoint, ReadOnlyMemory<byte> request, bool halfClose, byte[] buffer, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint, cancellationToken);
        await socket.SendAsync(request, SocketFlags.None, cancellationToken);
        if (halfClose)
        {
            socket.Shutdown(SocketShutdown.Send);
        }

        var total = 0;
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer.AsMemory(Math.Min(total, Ok.Length)), SocketFlags.None, cancellationToken)) > 0)
            {
                total += read;
            }
        }
        catch (SocketException) when (total == 0)
        {
            return OneShotOutcome.ZeroByte;
        }

        if (total == 0)
        {
            return OneShotOutcome.ZeroByte;
        }

        return total >= Ok.Length && buffer.AsSpan(0, Ok.Length).SequenceEqual(Ok) ? OneShotOutcome.Ok : OneShotOutcome.Failed;
    }
}
