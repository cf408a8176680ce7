using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>How the server ended a connection, as the client saw it.</summary>
public enum Ending
{
    /// <summary>An orderly close: the read returned 0.</summary>
    Fin,

    /// <summary>A reset: the read failed with ECONNRESET.</summary>
    Reset,

    /// <summary>Neither within the time allowed: the connection was still open.</summary>
    StillOpen,
}

/// <summary>What a raw client received: the bytes, and how the connection ended.</summary>
public sealed record RawResult(byte[] Bytes, Ending Ending, TimeSpan Elapsed)
{
    public string Text => Encoding.Latin1.GetString(Bytes);

    /// <summary>The status codes of the responses, in order.</summary>
    public IReadOnlyList<int> StatusCodes => HttpText.StatusCodes(Text);

    public override string ToString() => $"{Ending} after {Elapsed.TotalMilliseconds:0} ms, {Bytes.Length} bytes: {Text}";
}

/// <summary>A raw TCP client: sends bytes, half-closes its send side, reads until the server ends the connection.</summary>
public sealed class RawHttpClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private RawHttpClient(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public static async Task<RawHttpClient> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return new RawHttpClient(socket);
    }

    /// <summary>Sends the request, sends FIN, and reads everything up to the server's FIN or RST.</summary>
    public static async Task<RawResult> SendAndHalfCloseAsync(int port, string request, TimeSpan? timeout = null)
    {
        await using var client = await ConnectAsync(port);
        await client.SendAsync(request);
        client.HalfClose();
        return await client.ReadToEndAsync(timeout);
    }

    public async Task SendAsync(string text)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await Socket.SendAsync(Encoding.Latin1.GetBytes(text), SocketFlags.None, timeout.Token);
    }

    /// <summary>
    /// Sends <paramref name="text"/> and FIN in one segment where the OS allows it (Linux: corked, the FIN joins the queued
    /// bytes), so that the server's transport reads both at once; elsewhere, FIN right after the bytes.
    /// </summary>
    public async Task SendWithFinAsync(string text)
    {
        const int IpProtoTcp = 6;
        const int TcpCork = 3;
        if (OperatingSystem.IsLinux())
        {
            Socket.SetRawSocketOption(IpProtoTcp, TcpCork, BitConverter.GetBytes(1));
        }

        await SendAsync(text);
        HalfClose();
    }

    /// <summary>TCP half-close: FIN, nothing more to send.</summary>
    public void HalfClose() => Socket.Shutdown(SocketShutdown.Send);

    /// <summary>Closes with RST instead of FIN.</summary>
    public void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Close();
    }

    /// <summary>Reads until the server ends the connection, or the timeout passes (then <see cref="Ending.StillOpen"/>).</summary>
    public async Task<RawResult> ReadToEndAsync(TimeSpan? timeout = null)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            while (true)
            {
                var read = await Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (read == 0)
                {
                    return new RawResult(received.ToArray(), Ending.Fin, started.Elapsed);
                }

                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
        {
            return new RawResult(received.ToArray(), Ending.Reset, started.Elapsed);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return new RawResult(received.ToArray(), Ending.StillOpen, started.Elapsed);
        }
    }

    /// <summary>Reads until <paramref name="count"/> complete responses have arrived (the connection stays open).</summary>
    public async Task<string> ReadResponsesAsync(int count, TimeSpan? timeout = null)
    {
        var text = new StringBuilder();
        var buffer = new byte[16 * 1024];
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (HttpText.CompleteResponses(text.ToString()) < count)
        {
            var read = await Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (read == 0)
            {
                throw new InvalidOperationException($"The server closed the connection after: {text}");
            }

            text.Append(Encoding.Latin1.GetString(buffer, 0, read));
        }

        return text.ToString();
    }

    public ValueTask DisposeAsync()
    {
        Socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
