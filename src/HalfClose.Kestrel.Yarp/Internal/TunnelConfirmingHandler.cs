using System.Net;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>Confirms the request's tunnel when the destination answers 101 over HTTP/1.1 (an HTTP/2 CONNECT answers 200, and is never half-closed).</summary>
internal sealed class TunnelConfirmingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.SwitchingProtocols && response.Version == HttpVersion.Version11)
        {
            TunnelLink.Current?.Confirm();
        }

        return response;
    }
}
