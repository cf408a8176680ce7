using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The connection's send path when the policy closes the socket itself: the writer Kestrel writes to, whose completion
/// stops there (the socket transport would close both directions at once), and FIN only after the last byte is sent.
/// </summary>
internal interface ISendPath
{
    /// <summary>The writer Kestrel writes the connection's bytes to.</summary>
    PipeWriter Writer { get; }

    /// <summary>Whether a send failed, or the output was completed with an error (an abort): no graceful close then.</summary>
    bool Failed { get; }

    /// <summary>Whether FIN was sent after the last byte.</summary>
    bool FinSent { get; }

    /// <summary>
    /// Whether the close is the transport's: the owner took it once everything was sent (<see cref="ISendPathOwner.TryHandOverClose"/>),
    /// or the connection passed through (<see cref="TryPassThrough"/>).
    /// </summary>
    bool HandedOver { get; }

    /// <summary>Readies the send path, before Kestrel writes.</summary>
    void Start();

    /// <summary>
    /// Hands the connection's close (and, where the bytes are not the transport's already, its bytes) to the transport, for
    /// a connection that can call for no linger: false once that can no longer be done in order. On the writer's thread.
    /// </summary>
    bool TryPassThrough();

    /// <summary>Sends FIN, once; false when the socket is already gone.</summary>
    bool SendFin();

    /// <summary>
    /// Sends FIN once every byte written before this call is sent (true), while the connection keeps reading; what is
    /// written afterwards is discarded. False when the socket is already gone.
    /// </summary>
    Task<bool> ShutdownSendAsync();

    /// <summary>Nothing more will be written: completes once every byte written is sent (or the send path failed).</summary>
    ValueTask CompleteAsync();

    /// <summary>The connection is over: what is pooled goes back to its pool.</summary>
    void Return();
}

/// <summary>Which send path a connection gets.</summary>
internal static class SendPaths
{
    /// <summary>
    /// The send path for <paramref name="connection"/>'s socket; none without a socket. With <paramref name="watchTransport"/>,
    /// and where the transport's output can be watched (<see cref="TransportPipe"/>), the transport sends every byte as it
    /// would without the policy (<see cref="WatchedOutput"/>); otherwise the policy's own pipe and send loop do
    /// (<see cref="HalfCloseOutput"/>).
    /// </summary>
    public static ISendPath? For(ConnectionContext connection, Socket? socket, ISendPathOwner? owner = null, bool watchTransport = false)
    {
        if (socket is null)
        {
            return null;
        }

        var transportOutput = connection.Transport.Output;
        return watchTransport && TransportPipe.CanWatch(transportOutput)
            ? new WatchedOutput(transportOutput, socket, owner, connection.ConnectionClosed)
            : HalfCloseOutput.For(connection, socket, owner);
    }

    /// <summary>Shuts the socket's send direction down (FIN), once; false when the socket is already gone.</summary>
    public static bool SendFin(Socket socket, ref bool finSent)
    {
        if (Volatile.Read(ref finSent))
        {
            return true;
        }

        try
        {
            socket.Shutdown(SocketShutdown.Send);
            Volatile.Write(ref finSent, true);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }
}
