using System.Net.Sockets;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>
/// A connection to a destination, as the forwarder's <c>SocketsHttpHandler</c> uses it: a <see cref="NetworkStream"/> that
/// tells the request being written (<see cref="TunnelLink.Current"/>) which connection it is on, and can send FIN.
/// </summary>
/// <remarks>
/// A tunnel whose destination sends FIN first passes it to the client and keeps the client's direction open
/// (<see cref="TunnelLink.DestinationEndedAsync"/>).
/// <para>A tunnel torn down before both directions ended (the half-open timeout, an abort, an error) is closed with RST: a
/// destination that got the client's FIN already would otherwise take a plain close for nothing new and wait on, and one
/// that sent its FIN first would take it for the client's end.</para>
/// </remarks>
internal sealed class TunnelDestinationStream(Socket socket, bool canHalfClose) : NetworkStream(socket, ownsSocket: true)
{
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile TunnelLink? _tunnel;
    private volatile bool _destinationEnded;

    /// <summary>This connection now carries the upgraded tunnel of <paramref name="link"/>.</summary>
    public void MarkTunnel(TunnelLink link) => _tunnel = link;

    public override int Read(byte[] buffer, int offset, int count) => Seen(base.Read(buffer, offset, count), count);

    public override int Read(Span<byte> buffer) => Seen(base.Read(buffer), buffer.Length);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_tunnel is null)
        {
            // An ordinary exchange (the tunnel is marked on the 101, before the tunnel's first read): the socket's own read.
            return base.ReadAsync(buffer, cancellationToken);
        }

        var read = base.ReadAsync(buffer, cancellationToken);
        if (!read.IsCompletedSuccessfully)
        {
            return AwaitRead(read, buffer.Length, cancellationToken);
        }

        var count = Seen(read.Result, buffer.Length);
        return count == 0 && buffer.Length > 0 && _tunnel is { } link
            ? HoldEndAsync(link, cancellationToken)
            : new ValueTask<int>(count);
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
        _disposed.TrySetResult();
        if (disposing && _tunnel is { } link && !(_destinationEnded && link.ClientHasEnded))
        {
            // An abortive close: RST, and no FIN first (a close that keeps the linger option shuts the socket down first).
            Socket.Close(timeout: 0);
        }

        base.Dispose(disposing);
    }

    private async ValueTask<int> AwaitRead(ValueTask<int> read, int requested, CancellationToken cancellationToken)
    {
        var count = Seen(await read.ConfigureAwait(false), requested);
        if (count == 0 && requested > 0 && _tunnel is { } link)
        {
            await link.DestinationEndedAsync(_disposed.Task, cancellationToken).ConfigureAwait(false);
        }

        return count;
    }

    /// <summary>The destination's FIN, on a tunnel: the forwarder reads it once the client's direction is done too.</summary>
    private async ValueTask<int> HoldEndAsync(TunnelLink link, CancellationToken cancellationToken)
    {
        await link.DestinationEndedAsync(_disposed.Task, cancellationToken).ConfigureAwait(false);
        return 0;
    }

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
