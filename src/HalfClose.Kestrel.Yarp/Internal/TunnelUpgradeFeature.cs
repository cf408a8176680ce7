using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>Kestrel's upgrade feature, whose upgraded stream passes the client's FIN on to the tunnel's destination.</summary>
internal sealed class TunnelUpgradeFeature(IHttpUpgradeFeature inner, TunnelLink link) : IHttpUpgradeFeature
{
    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    public async Task<Stream> UpgradeAsync()
    {
        return link.WrapClientStream(await inner.UpgradeAsync().ConfigureAwait(false));
    }
}
