using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The request's endpoint feature, for a request that starts after the client's FIN: when routing picks the endpoint,
/// the connection hears of it, so that an endpoint's <c>Abort</c> applies although the FIN was seen before routing.
/// </summary>
internal sealed class EndpointNotifier(IEndpointFeature? inner, HalfCloseConnection connection) : IEndpointFeature
{
    private Endpoint? _endpoint;

    public Endpoint? Endpoint
    {
        get => inner is null ? _endpoint : inner.Endpoint;
        set
        {
            if (inner is null)
            {
                _endpoint = value;
            }
            else
            {
                inner.Endpoint = value;
            }

            connection.OnEndpointSelected(value);
        }
    }
}
