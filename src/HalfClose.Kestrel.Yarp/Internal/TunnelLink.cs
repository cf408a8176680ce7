namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>
/// One client request that may become an HTTP/1.1 upgrade tunnel, and the destination connection that carries it. The
/// destination connection is learnt from the request's own flow: the handler writes the request's headers to it. It is
/// fixed when the destination answers 101 over HTTP/1.1, and only then may the client's end be passed on to it.
/// </summary>
internal sealed class TunnelLink
{
    private static readonly AsyncLocal<TunnelLink?> CurrentLink = new();

    private readonly Lock _lock = new();
    private TunnelDestinationStream? _destination;
    private bool _confirmed;
    private bool _clientEnded;

    /// <summary>The link of the request whose flow this is, if the tunnel middleware saw it.</summary>
    public static TunnelLink? Current
    {
        get => CurrentLink.Value;
        set => CurrentLink.Value = value;
    }

    /// <summary>Whether the destination confirmed the tunnel (101 over HTTP/1.1) on a connection that can be half-closed.</summary>
    public bool IsConfirmed
    {
        get
        {
            lock (_lock)
            {
                return _confirmed && _destination is not null;
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
            _destination?.MarkTunnel();
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
    }
}
