using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The request's endpoint feature, put in front of Kestrel's while the connection may serve after a FIN: when routing
/// picks the endpoint, the connection hears of it, so that an endpoint's <c>Abort</c> applies although the FIN was
/// decided before routing. One per connection, aimed at each request in turn (HTTP/1 requests do not overlap).
/// </summary>
internal sealed class EndpointNotifier(HalfCloseConnection connection) : IEndpointFeature
{
    private IEndpointFeature? _inner;
    private Endpoint? _endpoint;

    public Endpoint? Endpoint
    {
        get => _inner is null ? _endpoint : _inner.Endpoint;
        set
        {
            if (_inner is null)
            {
                _endpoint = value;
            }
            else
            {
                _inner.Endpoint = value;
            }

            connection.EndpointSelected(value);
        }
    }

    /// <summary>Stands in front of this request's own endpoint feature.</summary>
    public void Attach(IFeatureCollection features)
    {
        _inner = features.Get<IEndpointFeature>();
        _endpoint = null;
        features.Set<IEndpointFeature>(this);
    }
}
