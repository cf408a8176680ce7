namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// One metric of host A over host B, round by round (the two ran in the same round): the median of the per-round ratios;
/// the geometric mean with two 95 % intervals, each a Student t-interval taken back to ratios: one of the mean of the
/// per-round log ratios (n - 1 degrees of freedom), one of the mean of the process sets' mean log ratios (sets - 1
/// degrees of freedom; round r took set (r - 1) mod sets), which is the honest one when processes differ for their whole
/// life; and the ratio of the pooled values.
/// </summary>
internal sealed record RoundRatios(
    int Count, double Median, double GeometricMean, double? Low, double? High, double? SetLow, double? SetHigh, double? Pooled)
{
    /// <summary>
    /// The per-round interval's half-width relative to the geometric mean, as a fraction (0.02 is ±2 %):
    /// <c>exp(t·s/√n) - 1</c>; null with fewer than two rounds.
    /// </summary>
    public double? Spread => High is { } high ? (high / GeometricMean) - 1 : null;

    /// <summary>The per-set interval's half-width, the same way (about its own centre); null with fewer than two sets.</summary>
    public double? SetSpread => SetLow is { } low && SetHigh is { } high ? Math.Sqrt(high / low) - 1 : null;

    /// <summary>
    /// The ratios of <paramref name="a"/> to <paramref name="b"/>, paired by round (the i-th of each is round i + 1, of
    /// set i mod <paramref name="sets"/>); a round where either is missing or not positive is left out. Null when no
    /// round is left.
    /// </summary>
    public static RoundRatios? From(IEnumerable<double?> a, IEnumerable<double?> b, double? pooledA, double? pooledB, int sets = 1)
    {
        var rounds = a.Zip(b)
            .Select((pair, i) => (Set: i % Math.Max(sets, 1), pair.First, pair.Second))
            .Where(r => r.First > 0 && r.Second > 0)
            .Select(r => (r.Set, Log: Math.Log(r.First!.Value / r.Second!.Value)))
            .ToArray();
        if (rounds.Length == 0)
        {
            return null;
        }

        var logs = rounds.Select(r => r.Log).Order().ToArray();
        var middle = logs.Length / 2;
        var median = logs.Length % 2 == 1 ? Math.Exp(logs[middle]) : (Math.Exp(logs[middle - 1]) + Math.Exp(logs[middle])) / 2;
        var pooled = pooledA > 0 && pooledB > 0 ? pooledA / pooledB : null;
        var (mean, low, high) = Interval(logs);
        var (_, setLow, setHigh) = Interval([.. rounds.GroupBy(r => r.Set).Select(g => g.Average(r => r.Log))]);
        return new RoundRatios(logs.Length, median, Math.Exp(mean), low, high, setLow, setHigh, pooled);
    }

    /// <summary>The mean of <paramref name="logs"/> and its 95 % t-interval taken back to ratios (none for fewer than two).</summary>
    private static (double Mean, double? Low, double? High) Interval(double[] logs)
    {
        var mean = logs.Average();
        if (logs.Length < 2)
        {
            return (mean, null, null);
        }

        var deviation = Math.Sqrt(logs.Sum(x => (x - mean) * (x - mean)) / (logs.Length - 1));
        var half = StudentT.Quantile975(logs.Length - 1) * deviation / Math.Sqrt(logs.Length);
        return (mean, Math.Exp(mean - half), Math.Exp(mean + half));
    }
}
