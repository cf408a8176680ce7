namespace HalfClose.Kestrel.Internal;

/// <summary>Where in the HTTP/1.x exchange the client's FIN arrived.</summary>
internal enum FinPhase
{
    /// <summary>No request in flight and nothing of the next one received: an ordinary keep-alive close.</summary>
    BetweenRequests,

    /// <summary>Part of a request line or headers received, no request started.</summary>
    RequestHeaders,

    /// <summary>A request in flight whose body has not been read to its end.</summary>
    RequestBody,

    /// <summary>A request in flight with its body read (or none): the response is being produced.</summary>
    Response,

    /// <summary>Not known: no per-request tracking (the policy was added to an endpoint only).</summary>
    Unknown,
}
