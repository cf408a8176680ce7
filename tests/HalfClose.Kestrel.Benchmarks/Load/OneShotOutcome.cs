namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>How a one-connection request ended, as the client saw it.</summary>
internal enum OneShotOutcome
{
    /// <summary>A 200 response, then the server's close.</summary>
    Ok,

    /// <summary>The server closed (FIN or RST) before sending any byte.</summary>
    ZeroByte,

    /// <summary>Some bytes, but not a 200 response; or a reset after some bytes.</summary>
    Failed,
}
