using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// One HTTP/1.1 keep-alive client connection over a raw socket. It reads responses framed by Content-Length only
/// (every host of the run sends one); anything else is an error.
/// </summary>
internal sealed class KeepAliveConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    private KeepAliveConnection(Socket socket) => _socket = socket;

    public static async Task<KeepAliveConnection> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken);
            return new KeepAliveConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends the request and reads one whole response; returns its status code.</summary>
    public async Task<int> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        await _socket.SendAsync(request, SocketFlags.None, cancellationToken);

        int headerLength;
        while ((headerLength = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8)) < 0)
        {
            await FillAsync(cancellationToken);
        }

        headerLength += 4;
        var (status, contentLength) = ParseHead(_buffer.AsSpan(_start, headerLength));
        _start += headerLength;
        while (_end - _start < contentLength)
        {
            await FillAsync(cancellationToken);
        }

        _start += contentLength;
        if (_start == _end)
        {
            _start = _end = 0;
        }

        return status;
    }

    public void Dispose() => _socket.Dispose();

    private static (int Status, int ContentLength) ParseHead(ReadOnlySpan<byte> head)
    {
        // "HTTP/1.1 200 OK\r\n..."
        if (head.Length < 12 || !Utf8Parser.TryParse(head.Slice(9, 3), out int status, out _))
        {
            throw new InvalidDataException("Not an HTTP/1.1 response.");
        }

        foreach (var range in head.Split("\r\n"u8))
        {
            var line = head[range];
            if (line.Length > 15 && Ascii.EqualsIgnoreCase(line[..15], "content-length:"u8)
                && Utf8Parser.TryParse(line[15..].Trim((byte)' '), out int length, out _))
            {
                return (status, length);
            }
        }

        throw new InvalidDataException("A response without Content-Length.");
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (_end == _buffer.Length)
        {
            if (_start == 0)
            {
                throw new InvalidDataException("A response larger than the client's buffer.");
            }

            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        _end += read > 0 ? read : throw new EndOfStreamException("The server closed the connection.");
    }
}
