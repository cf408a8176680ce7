using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Whether any endpoint the application routes to carries its own client-FIN policy (<see cref="IHalfClosePolicyMetadata"/>).
/// Only then does a request need the <see cref="EndpointNotifier"/>: putting it in front of the request's endpoint feature
/// is a feature set, which also makes every feature the request has cached be looked up again. Read from routing's global
/// <see cref="EndpointDataSource"/> at the first request, and again at the first request after its endpoints change (a
/// configuration reload, say); without that data source, or should reading it fail, every request gets the notifier.
/// </summary>
/// <remarks>
/// An endpoint that is in no data source (one a middleware sets itself) is not seen here: its policy applies only when
/// some routed endpoint has one too.
/// </remarks>
internal sealed class EndpointPolicies(EndpointDataSource? endpoints)
{
    private const int Unknown = 0;
    private const int None = 1;
    private const int Some = 2;

    private readonly Lock _lock = new();
    private int _state;
    private int _changes;
    private IDisposable? _watch;

    /// <summary>Whether an endpoint's own policy can decide a request's FIN: its requests need the notifier.</summary>
    public bool AnyEndpointDecides
    {
        get
        {
            var state = Volatile.Read(ref _state);
            return state == Some || (state == Unknown && Read());
        }
    }

    private bool Read()
    {
        if (endpoints is null)
        {
            return true;
        }

        int changes;
        lock (_lock)
        {
            // Watched before the endpoints are read: a change from here on makes the next request read them afresh.
            _watch ??= ChangeToken.OnChange(endpoints.GetChangeToken, OnChanged);
            changes = _changes;
        }

        bool any;
        try
        {
            any = endpoints.Endpoints.Any(static endpoint => endpoint.Metadata.GetMetadata<IHalfClosePolicyMetadata>() is not null);
        }
        catch (Exception)
        {
            // Routing will say what is wrong with its endpoints; meanwhile every request is watched for its endpoint.
            return true;
        }

        lock (_lock)
        {
            if (_changes == changes)
            {
                _state = any ? Some : None;
            }
        }

        return any;
    }

    private void OnChanged()
    {
        lock (_lock)
        {
            _changes++;
            _state = Unknown;
        }
    }
}
