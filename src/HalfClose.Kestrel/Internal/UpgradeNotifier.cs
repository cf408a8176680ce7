using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>The request's upgrade feature, in front of Kestrel's: tells the connection once the request was answered 101.</summary>
internal sealed class UpgradeNotifier(IHttpUpgradeFeature inner, HalfCloseConnection connection) : IHttpUpgradeFeature
{
    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    public async Task<Stream> UpgradeAsync()
    {
        var stream = await inner.UpgradeAsync().ConfigureAwait(false);
        connection.RequestUpgraded();
        return stream;
    }
}
