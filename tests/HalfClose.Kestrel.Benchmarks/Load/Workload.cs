namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>What the load client's connections do.</summary>
internal enum Workload
{
    /// <summary>A fixed number of connections, each sending GET / after GET / (HTTP/1.1 keep-alive).</summary>
    KeepAlive,

    /// <summary>A new connection per request: connect, GET / with <c>Connection: close</c>, read to the server's close.</summary>
    ConnectionPerRequest,

    /// <summary>A new connection per request: connect, GET /, half-close (<c>shutdown(SHUT_WR)</c>), read to EOF.</summary>
    HalfClose,
}
