using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Connection middleware that applies the half-close policy to HTTP/1.x connections and passes every other
/// connection (HTTP/2 by ALPN or by prior knowledge, non-TCP transports) through untouched.
/// </summary>
internal sealed class HalfCloseConnectionMiddleware(ConnectionDelegate next, HalfCloseContext shared, bool http1Possible)
{
    public Task OnConnectionAsync(ConnectionContext connection)
    {
        var policy = shared.Source.Current;

        // An app-wide policy already runs on this connection: the endpoint's own policy replaces it.
        if (connection.Features.Get<IHalfCloseFeature>() is HalfCloseConnection outer)
        {
            outer.Policy = policy;
            return next(connection);
        }

        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        if (!http1Possible || socket is null || !TcpStateProbe.CanProbe(socket) || HalfCloseConnection.IsMultiplexed(connection))
        {
            connection.Features.Set<IHalfCloseFeature>(UnsupportedHalfCloseFeature.Instance);
            return next(connection);
        }

        return ServeAsync(connection, new HalfCloseConnection(connection, socket, policy, shared));
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
