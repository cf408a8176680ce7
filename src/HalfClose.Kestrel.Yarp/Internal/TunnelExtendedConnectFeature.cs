using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>
/// Kestrel's extended CONNECT feature (WebSockets over HTTP/2), whose accepted stream passes the client's END_STREAM on to
/// the tunnel's destination as a FIN.
/// </summary>
internal sealed class TunnelExtendedConnectFeature(IHttpExtendedConnectFeature inner, TunnelLink link) : IHttpExtendedConnectFeature
{
    public bool IsExtendedConnect => inner.IsExtendedConnect;

    public string? Protocol => inner.Protocol;

    public async ValueTask<Stream> AcceptAsync()
    {
        return link.WrapClientStream(await inner.AcceptAsync().ConfigureAwait(false));
    }
}
