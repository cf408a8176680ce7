using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Connection middleware that applies the half-close policy to HTTP/1.x connections and passes every other
/// connection (an HTTP/2-only endpoint, non-TCP transports) through untouched.
/// </summary>
/// <param name="next">The rest of the endpoint's connection pipeline.</param>
/// <param name="shared">The endpoint's policy, logs and metrics.</param>
/// <param name="http1Possible">Whether the endpoint speaks HTTP/1.x at all.</param>
/// <param name="toldNotApplicable">Whether the endpoint was already said, when it bound, not to be a TCP endpoint.</param>
internal sealed class HalfCloseConnectionMiddleware(ConnectionDelegate next, HalfCloseContext shared, bool http1Possible, bool toldNotApplicable = false)
{
    private int _toldNotApplicable = toldNotApplicable ? 1 : 0;

    public Task OnConnectionAsync(ConnectionContext connection)
    {
        // The connection is already under a policy (an outer middleware's): it is this endpoint's, resolved when it bound,
        // unless the two could not be told apart then.
        if (HalfCloseConnection.Of(connection.Features) is { } outer)
        {
            if (outer.Context != shared)
            {
                outer.AdoptPolicy(shared);
            }

            return next(connection);
        }

        var socket = connection.Features.Find<IConnectionSocketFeature>()?.Socket;
        if (!http1Possible || !SocketWatcher.CanWatch(socket))
        {
            if (http1Possible && Interlocked.Exchange(ref _toldNotApplicable, 1) == 0)
            {
                HalfCloseLog.NotApplicable(shared.Logger, connection.LocalEndPoint?.ToString() ?? "?", socket?.ProtocolType.ToString() ?? "no socket");
            }

            connection.Features.Put<IHalfCloseFeature>(UnsupportedHalfCloseFeature.Instance);
            return next(connection);
        }

        var halfClose = new HalfCloseConnection(connection, socket, shared);
        if (connection.Features.Find<IConnectionCompleteFeature>() is not { } completion)
        {
            return ServeAsync(connection, halfClose);
        }

        // Kestrel runs a connection's completion callbacks once every middleware has returned, before it disposes the
        // transport: the server's close (a lingering close, say) goes there, and Kestrel awaits the next middleware's own
        // task, with no async layer of this middleware's between them.
        halfClose.Start();
        completion.OnCompleted(static state => ((HalfCloseConnection)state).EndTask(), halfClose);
        return next(connection);
    }

    /// <summary>Where the server runs no completion callbacks: the close follows the next middleware's end in this method.</summary>
    private async Task ServeAsync(ConnectionContext connection, HalfCloseConnection halfClose)
    {
        halfClose.Start();
        try
        {
            await next(connection);
        }
        finally
        {
            // Two awaits in this method's own state machine, rather than a nested async method that would need its own.
            await halfClose.SentAsync();
            await halfClose.CloseAsync();
        }
    }
}
