using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>An HTTP/1.1 client over TLS on a raw socket: sends, then half-closes the TCP connection under TLS.</summary>
public sealed class RawTlsClient : IAsyncDisposable
{
    private RawTlsClient(Socket socket, SslStream tls)
    {
        Socket = socket;
        Tls = tls;
    }

    public Socket Socket { get; }

    public SslStream Tls { get; }

    public static async Task<RawTlsClient> ConnectAsync(int port, bool http2 = false)
    {
        using var timeout = new CancellationTokenSource(RawHttpClient.DefaultTimeout);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await tls.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [http2 ? SslApplicationProtocol.Http2 : SslApplicationProtocol.Http11],
                RemoteCertificateValidationCallback = TestCertificate.Validate,
            },
            timeout.Token);
        return new RawTlsClient(socket, tls);
    }

    /// <summary>Sends the request, then FIN at once (no close_notify), as <c>nc -N</c> does, and reads to the server's end.</summary>
    public static async Task<RawResult> SendAndHalfCloseAsync(int port, string request)
    {
        await using var client = await ConnectAsync(port);
        await client.SendAsync(request);
        client.HalfClose();
        return await client.ReadToEndAsync();
    }

    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(RawHttpClient.DefaultTimeout);
        await Tls.WriteAsync(bytes, timeout.Token);
        await Tls.FlushAsync(timeout.Token);
    }

    /// <summary>TCP FIN under the TLS session, without close_notify: the way a half-closing client ends its side.</summary>
    public void HalfClose() => Socket.Shutdown(SocketShutdown.Send);

    public async Task<RawResult> ReadToEndAsync(TimeSpan? timeout = null)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        using var cts = new CancellationTokenSource(timeout ?? RawHttpClient.DefaultTimeout);
        try
        {
            while (true)
            {
                var read = await Tls.ReadAsync(buffer, cts.Token);
                if (read == 0)
                {
                    return new RawResult(received.ToArray(), Ending.Fin, started.Elapsed);
                }

                received.Write(buffer, 0, read);
            }
        }
        catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return new RawResult(received.ToArray(), Ending.Reset, started.Elapsed);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return new RawResult(received.ToArray(), Ending.StillOpen, started.Elapsed);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Tls.DisposeAsync();
        Socket.Dispose();
    }
}
