using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Connection middleware that applies the half-close policy to HTTP/1.x connections and passes every other
/// connection (an HTTP/2-only endpoint, non-TCP transports) through untouched.
/// </summary>
internal sealed class HalfCloseConnectionMiddleware(ConnectionDelegate next, HalfCloseContext shared, bool http1Possible)
{
    public Task OnConnectionAsync(ConnectionContext connection)
    {
        // The connection is already under a policy (an outer middleware's): it is this endpoint's, resolved when it bound,
        // unless the two could not be told apart then.
        if (connection.Features.Get<IHalfCloseFeature>() is HalfCloseConnection outer)
        {
            if (outer.Context != shared)
            {
                outer.AdoptPolicy(shared);
            }

            return next(connection);
        }

        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        if (!http1Possible || socket is null || !TcpStateProbe.CanProbe(socket))
        {
            connection.Features.Set<IHalfCloseFeature>(UnsupportedHalfCloseFeature.Instance);
            return next(connection);
        }

        return ServeAsync(connection, new HalfCloseConnection(connection, socket, shared));
    }

    private async Task ServeAsync(ConnectionContext connection, HalfCloseConnection halfClose)
    {
        halfClose.Start();
        try
        {
            await next(connection);
        }
        finally
        {
            await halfClose.CloseAsync();
            halfClose.Complete();
        }
    }
}
