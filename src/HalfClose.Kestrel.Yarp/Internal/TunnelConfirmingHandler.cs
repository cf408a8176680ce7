using System.Net;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>Confirms the request's tunnel when the destination answers 101 over HTTP/1.1 (an HTTP/2 CONNECT answers 200, and is never half-closed).</summary>
internal sealed class TunnelConfirmingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    /// <summary>Only a request that may become a tunnel (it has a <see cref="TunnelLink"/>) waits here for its answer; every other passes straight through.</summary>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        TunnelLink.Current is { } link ? ConfirmAsync(request, link, cancellationToken) : base.SendAsync(request, cancellationToken);

    private async Task<HttpResponseMessage> ConfirmAsync(HttpRequestMessage request, TunnelLink link, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.SwitchingProtocols && response.Version == HttpVersion.Version11)
        {
            link.Confirm();
        }

        return response;
    }
}
