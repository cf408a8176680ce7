namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>
/// One client request that may become an HTTP/1.1 upgrade tunnel, and the destination connection that carries it. The
/// destination connection is learnt from the request's own flow: the handler writes the request's headers to it. It is
/// fixed when the destination answers 101 over HTTP/1.1, and only then may the client's end be passed on to it.
/// </summary>
/// <param name="endClientDirection">
/// Ends the proxy's direction towards the client while the client's stays open (HTTP/1.1: TCP FIN through the policy;
/// HTTP/2: END_STREAM); false, or none, where that cannot be done.
/// </param>
internal sealed class TunnelLink(Func<CancellationToken, ValueTask<bool>>? endClientDirection)
{
    private static readonly AsyncLocal<TunnelLink?> CurrentLink = new();

    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _clientEnd = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TunnelDestinationStream? _destination;
    private bool _confirmed;
    private bool _clientEnded;

    /// <summary>The link of the request whose flow this is, if the tunnel middleware saw it.</summary>
    public static TunnelLink? Current
    {
        get => CurrentLink.Value;
        set => CurrentLink.Value = value;
    }

    /// <summary>
    /// The client's side of the tunnel, as the forwarder gets it: watched for the client's end when the destination
    /// confirmed the tunnel (101 over HTTP/1.1) on a connection that can be half-closed, untouched otherwise.
    /// </summary>
    public Stream WrapClientStream(Stream stream)
    {
        lock (_lock)
        {
            return _confirmed && _destination is not null ? new TunnelClientStream(stream, this) : stream;
        }
    }

    /// <summary>Whether the client's FIN was read, and passed on to the destination.</summary>
    public bool ClientHasEnded
    {
        get
        {
            lock (_lock)
            {
                return _clientEnded;
            }
        }
    }

    /// <summary>The request is being written to <paramref name="destination"/>: until the 101, the last one wins.</summary>
    public void Attach(TunnelDestinationStream destination)
    {
        lock (_lock)
        {
            if (!_confirmed)
            {
                _destination = destination;
            }
        }
    }

    /// <summary>The destination answered 101 over HTTP/1.1: the connection last written to carries the tunnel.</summary>
    public void Confirm()
    {
        lock (_lock)
        {
            _confirmed = true;
            _destination?.MarkTunnel(this);
        }
    }

    /// <summary>
    /// The client's side of the tunnel read its end (the client's FIN): every byte before it has been written to the
    /// destination, since the copy writes each read before the next. The destination gets its FIN now.
    /// </summary>
    public void ClientEnded()
    {
        TunnelDestinationStream? destination;
        lock (_lock)
        {
            if (_clientEnded || !_confirmed)
            {
                return;
            }

            _clientEnded = true;
            destination = _destination;
        }

        destination?.ShutdownSend();
        _clientEnd.TrySetResult();
    }

    /// <summary>
    /// The destination sent its FIN, and every byte before it has been written to the client (the copy writes each read
    /// before the next). The client gets its FIN now, and the destination's end is held back from the forwarder until the
    /// client's direction is done too: YARP ends a tunnel, cancelling the client's direction, as soon as the destination's
    /// ends. Where the client's direction cannot be ended alone (TLS, no policy, Linger Off), the end goes on at once.
    /// </summary>
    /// <param name="destinationGone">Completes when the destination connection is disposed (the forwarder's cancellation).</param>
    /// <param name="cancellationToken">The read's own token.</param>
    public async ValueTask DestinationEndedAsync(Task destinationGone, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_clientEnded)
            {
                return;
            }
        }

        if (endClientDirection is null || !await endClientDirection(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        // Ends when the client's end is read, when the client's connection closes (its half-open timeout aborts it, and the
        // client side's copy then fails and cancels), or when the forwarder disposes the destination connection (its
        // cancellation, and its ActivityTimeout, which bounds an HTTP/2 stream).
        await Task.WhenAny(_clientEnd.Task, destinationGone).WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}
