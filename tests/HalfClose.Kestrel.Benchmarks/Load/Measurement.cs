namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>All rounds of one host under one workload.</summary>
internal sealed class Measurement(HostKind host, Workload workload)
{
    private readonly List<RoundResult> _rounds = [];
    private long[]? _sorted;

    public HostKind Host { get; } = host;

    public Workload Workload { get; } = workload;

    public IReadOnlyList<RoundResult> Rounds => _rounds;

    public int Ok => _rounds.Sum(r => r.Ok);

    public int ZeroByte => _rounds.Sum(r => r.ZeroByte);

    public int Failed => _rounds.Sum(r => r.Failed);

    /// <summary>Successful requests per second over all rounds.</summary>
    public double RequestsPerSecond => Ok / _rounds.Sum(r => r.Elapsed.TotalSeconds);

    /// <summary>The highest of the rounds' peak resident set sizes.</summary>
    public long PeakBytes => _rounds.Count == 0 ? 0 : _rounds.Max(r => r.PeakBytes);

    /// <summary>The host's CPU time over its successful requests, all rounds pooled, in microseconds; null when unknown.</summary>
    public double? CpuPerRequest => Pooled(r => r.Cpu);

    /// <summary>The same for the origin behind a proxy; null for a host without one.</summary>
    public double? OriginCpuPerRequest => Pooled(r => r.OriginCpu);

    /// <summary>The bytes the host allocated over its successful requests, all rounds pooled; null for HAProxy.</summary>
    public double? AllocatedPerRequest => PooledCount(c => c.Allocated);

    /// <summary>The thread-pool work items the host completed over its successful requests, all rounds pooled; null for HAProxy.</summary>
    public double? WorkItemsPerRequest => PooledCount(c => c.WorkItems);

    /// <summary>The host's threads' waits (voluntary context switches) over its successful requests, all rounds pooled; null for HAProxy.</summary>
    public double? WaitsPerRequest => PooledCount(c => c.Waits);

    /// <summary>The host's garbage collections per 1 000 successful requests, all rounds pooled; null for HAProxy.</summary>
    public double? CollectionsPerThousand => PooledCount(c => c.Collections) * 1000;

    /// <summary>The exceptions thrown in the host per 1 000 successful requests, all rounds pooled; null for HAProxy.</summary>
    public double? ExceptionsPerThousand => PooledCount(c => c.Exceptions) * 1000;

    /// <summary>The most thread-pool threads the host had at the end of a round; null for HAProxy.</summary>
    public long? PoolThreads => _rounds.Where(r => r.Counters is not null).Select(r => (long?)r.Counters!.Value.PoolThreads).Max();

    public void Add(RoundResult round)
    {
        _rounds.Add(round);
        _sorted = null;
    }

    /// <summary>The latency at <paramref name="quantile"/> over all successful requests of all rounds; null when none.</summary>
    public TimeSpan? Latency(double quantile)
    {
        _sorted ??= [.. _rounds.SelectMany(r => r.Latencies).Order()];
        if (_sorted.Length == 0)
        {
            return null;
        }

        var index = (int)Math.Ceiling(quantile * _sorted.Length) - 1;
        return System.Diagnostics.Stopwatch.GetElapsedTime(0, _sorted[Math.Clamp(index, 0, _sorted.Length - 1)]);
    }

    private double? PooledCount(Func<HostCounters, long> count)
    {
        var measured = _rounds.Where(r => r.Counters is not null).ToList();
        var ok = measured.Sum(r => (long)r.Ok);
        return ok > 0 ? (double)measured.Sum(r => count(r.Counters!.Value)) / ok : null;
    }

    private double? Pooled(Func<RoundResult, TimeSpan?> cpu)
    {
        var measured = _rounds.Where(r => cpu(r) is not null).ToList();
        var ok = measured.Sum(r => (long)r.Ok);
        return ok > 0 ? measured.Sum(r => cpu(r)!.Value.TotalMicroseconds) / ok : null;
    }
}
