namespace HalfClose.Kestrel.Internal;

/// <summary>Why the transport's receive side ended, as read from the socket's TCP state.</summary>
internal enum TransportEnd
{
    /// <summary>The client sent FIN and still has its receive side open (CLOSE-WAIT).</summary>
    ClientFin,

    /// <summary>The connection is gone: reset by the client, or closed by the server itself.</summary>
    Closed,
}
