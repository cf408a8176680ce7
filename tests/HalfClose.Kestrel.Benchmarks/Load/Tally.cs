namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>What one client worker saw in one round. Not thread-safe: one worker, one tally.</summary>
internal sealed class Tally
{
    /// <summary>Latencies of the successful requests, in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    public List<long> Latencies { get; } = [];

    /// <summary>Requests answered with 200.</summary>
    public int Ok => Latencies.Count;

    /// <summary>Requests whose connection ended with no byte of response: what plain Kestrel gives a half-closed client.</summary>
    public int ZeroByte { get; set; }

    /// <summary>Any other failure: reset, timeout, a status other than 200, a connect error.</summary>
    public int Failed { get; set; }
}
