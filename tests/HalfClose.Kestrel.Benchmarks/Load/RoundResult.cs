namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// One host under one workload for one round: the merged tallies, the time it took, the host's peak memory, and the
/// CPU time the host (and, behind a proxy, the origin) used during the round, null when it could not be read; and what
/// the host counted during the round (null for HAProxy).
/// </summary>
internal sealed record RoundResult(
    long[] Latencies, int ZeroByte, int Failed, TimeSpan Elapsed, long PeakBytes, TimeSpan? Cpu, TimeSpan? OriginCpu, HostCounters? Counters)
{
    public int Ok => Latencies.Length;

    public double RequestsPerSecond => Ok / Elapsed.TotalSeconds;

    /// <summary>The host's CPU time over the requests answered with 200, in microseconds; null without either.</summary>
    public double? CpuPerRequest => PerRequest(Cpu);

    /// <summary>The origin's CPU time over the requests answered with 200, in microseconds; null for a host without one.</summary>
    public double? OriginCpuPerRequest => PerRequest(OriginCpu);

    public static RoundResult From(
        IReadOnlyCollection<Tally> tallies, TimeSpan elapsed, long peakBytes, TimeSpan? cpu, TimeSpan? originCpu, HostCounters? counters) => new(
        [.. tallies.SelectMany(t => t.Latencies)],
        tallies.Sum(t => t.ZeroByte),
        tallies.Sum(t => t.Failed),
        elapsed,
        peakBytes,
        cpu,
        originCpu,
        counters);

    private double? PerRequest(TimeSpan? cpu) => cpu is { } time && Ok > 0 ? time.TotalMicroseconds / Ok : null;
}
