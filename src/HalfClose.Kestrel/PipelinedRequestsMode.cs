namespace HalfClose.Kestrel;

/// <summary>What happens to pipelined requests that were already received when the client half-closed.</summary>
public enum PipelinedRequestsMode
{
    /// <summary>Answer each of them in order, then close.</summary>
    Serve = 0,

    /// <summary>Answer only the request in flight (its response carries <c>Connection: close</c>), then close.</summary>
    Discard = 1,
}
