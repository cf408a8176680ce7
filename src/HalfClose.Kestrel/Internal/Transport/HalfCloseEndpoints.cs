using System.Net;

namespace HalfClose.Kestrel.Internal.Transport;

/// <summary>
/// The endpoints whose connection middleware includes the policy (registered when Kestrel builds an endpoint, before it
/// binds the transport): the transport applies the policy itself to every other endpoint, so that no app code (its own
/// <c>ConfigureEndpointDefaults</c>, say) can leave an endpoint without it.
/// </summary>
internal sealed class HalfCloseEndpoints
{
    private readonly Lock _lock = new();
    private readonly List<EndPoint> _withMiddleware = [];

    public void AddWithMiddleware(EndPoint endpoint)
    {
        lock (_lock)
        {
            _withMiddleware.Add(endpoint);
        }
    }

    /// <summary>
    /// Whether the endpoint being bound has the policy middleware. The same object is bound, except for the addresses
    /// Kestrel expands (<c>localhost</c> into both loopbacks, <c>*</c> into IPv6 and IPv4 any): same port, same kind.
    /// </summary>
    public bool HasMiddleware(EndPoint bound)
    {
        lock (_lock)
        {
            return _withMiddleware.Exists(registered => Matches(registered, bound));
        }
    }

    internal static bool Matches(EndPoint registered, EndPoint bound) =>
        ReferenceEquals(registered, bound) || registered.Equals(bound) || (registered, bound) switch
        {
            (IPEndPoint a, IPEndPoint b) when a.Port == b.Port && a.Port != 0 =>
                (IPAddress.IsLoopback(a.Address) && IPAddress.IsLoopback(b.Address)) || (IsAny(a.Address) && IsAny(b.Address)),
            _ => false,
        };

    private static bool IsAny(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);
}
