using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace HalfClose.Kestrel.Internal.Transport;

/// <summary>
/// The socket transport, decorated: an endpoint bound without the policy middleware (the application replaced Kestrel's
/// endpoint defaults, through which <c>UseHalfClosePolicy()</c> installs it) gets the policy here, at accept.
/// </summary>
internal sealed class HalfCloseListenerFactory(IConnectionListenerFactory inner, HalfCloseContext shared, HalfCloseEndpoints endpoints)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var listener = await inner.BindAsync(endpoint, cancellationToken).ConfigureAwait(false);
        if (endpoints.HasMiddleware(endpoint))
        {
            return listener;
        }

        HalfCloseLog.AppliedAtTransport(shared.Logger, listener.EndPoint.ToString() ?? "?");
        return new HalfCloseListener(listener, shared);
    }

    public bool CanBind(EndPoint endpoint) => inner is not IConnectionListenerFactorySelector selector || selector.CanBind(endpoint);
}
