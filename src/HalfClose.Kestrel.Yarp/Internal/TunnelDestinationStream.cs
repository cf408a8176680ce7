using System.Net.Sockets;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>
/// A connection to a destination, as the forwarder's <c>SocketsHttpHandler</c> uses it: a <see cref="NetworkStream"/> that
/// tells the request being written (<see cref="TunnelLink.Current"/>) which connection it is on, and can send FIN.
/// </summary>
/// <remarks>
/// A tunnel torn down before the destination sent its FIN (the half-open timeout, an abort, an error) is closed with RST:
/// a destination that got the client's FIN already would otherwise take a plain close for nothing new and wait on.
/// </remarks>
internal sealed class TunnelDestinationStream(Socket socket, bool canHalfClose) : NetworkStream(socket, ownsSocket: true)
{
    private volatile bool _tunnel;
    private volatile bool _destinationEnded;

    /// <summary>This connection now carries an upgraded tunnel.</summary>
    public void MarkTunnel() => _tunnel = true;

    public override int Read(byte[] buffer, int offset, int count) => Seen(base.Read(buffer, offset, count), count);

    public override int Read(Span<byte> buffer) => Seen(base.Read(buffer), buffer.Length);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = base.ReadAsync(buffer, cancellationToken);
        return read.IsCompletedSuccessfully ? new ValueTask<int>(Seen(read.Result, buffer.Length)) : AwaitRead(read, buffer.Length);
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        Attach();
        base.Write(buffer, offset, count);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Attach();
        base.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Attach();
        return base.WriteAsync(buffer, offset, count, cancellationToken);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Attach();
        return base.WriteAsync(buffer, cancellationToken);
    }

    /// <summary>TCP half-close: FIN after every byte already sent; the destination's bytes still arrive.</summary>
    public void ShutdownSend()
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // Already closed or reset: the tunnel's copy sees it.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _tunnel && !_destinationEnded)
        {
            try
            {
                Socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }

        base.Dispose(disposing);
    }

    private async ValueTask<int> AwaitRead(ValueTask<int> read, int requested) => Seen(await read.ConfigureAwait(false), requested);

    private int Seen(int read, int requested)
    {
        if (read == 0 && requested > 0)
        {
            _destinationEnded = true;
        }

        return read;
    }

    private void Attach()
    {
        if (canHalfClose)
        {
            TunnelLink.Current?.Attach(this);
        }
    }
}
