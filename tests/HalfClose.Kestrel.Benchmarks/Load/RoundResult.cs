namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>One host under one workload for one round: the merged tallies, the time it took and the host's peak memory.</summary>
internal sealed record RoundResult(long[] Latencies, int ZeroByte, int Failed, TimeSpan Elapsed, long PeakBytes)
{
    public int Ok => Latencies.Length;

    public double RequestsPerSecond => Ok / Elapsed.TotalSeconds;

    public static RoundResult From(IReadOnlyCollection<Tally> tallies, TimeSpan elapsed, long peakBytes) => new(
        [.. tallies.SelectMany(t => t.Latencies)],
        tallies.Sum(t => t.ZeroByte),
        tallies.Sum(t => t.Failed),
        elapsed,
        peakBytes);
}
