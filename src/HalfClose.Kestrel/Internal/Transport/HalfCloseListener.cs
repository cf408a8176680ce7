using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace HalfClose.Kestrel.Internal.Transport;

/// <summary>A bound endpoint whose accepted connections are put under the policy before Kestrel sees them.</summary>
internal sealed class HalfCloseListener(IConnectionListener inner, HalfCloseContext shared) : IConnectionListener
{
    public EndPoint EndPoint => inner.EndPoint;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        var connection = await inner.AcceptAsync(cancellationToken).ConfigureAwait(false);
        if (connection?.Features.Find<IConnectionSocketFeature>()?.Socket is not { } socket || !SocketWatcher.CanWatch(socket))
        {
            return connection;
        }

        var halfClose = new HalfCloseConnection(connection, socket, shared);
        halfClose.Start();
        return new HalfCloseAcceptedConnection(connection, halfClose);
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => inner.UnbindAsync(cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
