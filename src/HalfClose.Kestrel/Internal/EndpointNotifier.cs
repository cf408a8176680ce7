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

    // The last endpoint routing picked on this connection, and its own client-FIN policy: the next request most often gets
    // the same endpoint, whose metadata does not change.
    private Endpoint? _lastEndpoint;
    private ClientFinMode? _lastClientFin;

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

            connection.EndpointSelected(ClientFinOf(value));
        }
    }

    private ClientFinMode? ClientFinOf(Endpoint? endpoint)
    {
        if (endpoint is null)
        {
            return null;
        }

        if (!ReferenceEquals(endpoint, _lastEndpoint))
        {
            _lastClientFin = endpoint.Metadata.GetMetadata<IHalfClosePolicyMetadata>()?.ClientFin;
            _lastEndpoint = endpoint;
        }

        return _lastClientFin;
    }

    /// <summary>Stands in front of this request's own endpoint feature.</summary>
    public void Attach(IFeatureCollection features)
    {
        _inner = features.Find<IEndpointFeature>();
        _endpoint = null;
        features.Put<IEndpointFeature>(this);
    }
}
