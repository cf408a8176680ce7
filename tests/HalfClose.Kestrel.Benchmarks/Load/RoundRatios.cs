namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// One metric of host A over host B, round by round (the two ran in the same round, one right after the other): the
/// median of the per-round ratios; the geometric mean with its 95 % interval, a Student t-interval of the mean of the
/// per-round log ratios (n - 1 degrees of freedom) taken back to ratios; and the ratio of the pooled values.
/// </summary>
internal sealed record RoundRatios(int Count, double Median, double GeometricMean, double? Low, double? High, double? Pooled)
{
    /// <summary>
    /// The interval's half-width relative to the geometric mean, as a fraction (0.02 is ±2 %): <c>exp(t·s/√n) - 1</c>;
    /// null with fewer than two rounds.
    /// </summary>
    public double? Spread => High is { } high ? (high / GeometricMean) - 1 : null;

    /// <summary>
    /// The ratios of <paramref name="a"/> to <paramref name="b"/>, paired by round; a round where either is missing or not
    /// positive is left out. Null when no round is left.
    /// </summary>
    public static RoundRatios? From(IEnumerable<double?> a, IEnumerable<double?> b, double? pooledA, double? pooledB)
    {
        var logs = a.Zip(b)
            .Where(pair => pair.First > 0 && pair.Second > 0)
            .Select(pair => Math.Log(pair.First!.Value / pair.Second!.Value))
            .Order()
            .ToArray();
        if (logs.Length == 0)
        {
            return null;
        }

        var middle = logs.Length / 2;
        var median = logs.Length % 2 == 1 ? Math.Exp(logs[middle]) : (Math.Exp(logs[middle - 1]) + Math.Exp(logs[middle])) / 2;
        var mean = logs.Average();
        var pooled = pooledA > 0 && pooledB > 0 ? pooledA / pooledB : null;
        if (logs.Length < 2)
        {
            return new RoundRatios(logs.Length, median, Math.Exp(mean), null, null, pooled);
        }

        var deviation = Math.Sqrt(logs.Sum(x => (x - mean) * (x - mean)) / (logs.Length - 1));
        var half = StudentT.Quantile975(logs.Length - 1) * deviation / Math.Sqrt(logs.Length);
        return new RoundRatios(logs.Length, median, Math.Exp(mean), Math.Exp(mean - half), Math.Exp(mean + half), pooled);
    }
}
