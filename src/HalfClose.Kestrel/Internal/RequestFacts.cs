namespace HalfClose.Kestrel.Internal;

/// <summary>
/// What the request middleware tells the connection about the request in flight, on the request's own thread: an
/// immutable value the connection reads when the client's FIN arrives, instead of reading <c>HttpContext</c> from there.
/// </summary>
[Flags]
internal enum RequestFacts
{
    None = 0,

    /// <summary>A request is in the application.</summary>
    InFlight = 1,

    /// <summary>The request in flight may have a body.</summary>
    MayHaveBody = 2,

    /// <summary>Routing picked an endpoint whose policy is <c>Serve</c>.</summary>
    EndpointServes = 4,

    /// <summary>Routing picked an endpoint whose policy is <c>Abort</c>.</summary>
    EndpointAborts = 8,

    /// <summary>The request in flight was answered 101: the connection is an opaque tunnel now.</summary>
    Upgraded = 16,

    /// <summary>The last request ended with its body not read to the end: the client may still be sending it.</summary>
    BodyUnread = 32,

    /// <summary>The last request said the client sends nothing after it (<c>Connection: close</c>, or HTTP/1.0 without <c>keep-alive</c>).</summary>
    ClientCloses = 64,
}

internal static class RequestFactsExtensions
{
    public static bool Has(this RequestFacts facts, RequestFacts fact) => (facts & fact) == fact;

    /// <summary>The client-FIN policy of the request in flight's endpoint, if it has one.</summary>
    public static ClientFinMode? EndpointClientFin(this RequestFacts facts) =>
        facts.Has(RequestFacts.EndpointAborts) ? ClientFinMode.Abort
        : facts.Has(RequestFacts.EndpointServes) ? ClientFinMode.Serve
        : null;
}
