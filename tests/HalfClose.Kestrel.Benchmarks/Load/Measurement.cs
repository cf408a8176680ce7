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

    /// <summary>
    /// The median, over the rounds both ran, of this host's requests/s divided by <paramref name="other"/>'s in the same
    /// round: a paired estimate, insensitive to the machine's drift between rounds and to one disturbed round.
    /// </summary>
    public double? MedianRoundRatio(Measurement other)
    {
        var ratios = _rounds.Zip(other._rounds)
            .Where(pair => pair.Second.RequestsPerSecond > 0)
            .Select(pair => pair.First.RequestsPerSecond / pair.Second.RequestsPerSecond)
            .Order()
            .ToArray();
        if (ratios.Length == 0)
        {
            return null;
        }

        var middle = ratios.Length / 2;
        return ratios.Length % 2 == 1 ? ratios[middle] : (ratios[middle - 1] + ratios[middle]) / 2;
    }

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
}
