namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>Quantiles of Student's t distribution, for the 95 % intervals of the report.</summary>
internal static class StudentT
{
    // t(0.975, df) for df = 1 .. 30.
    private static readonly double[] Table =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    /// <summary>The two-sided 95 % quantile, t(0.975, <paramref name="degreesOfFreedom"/>).</summary>
    public static double Quantile975(int degreesOfFreedom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(degreesOfFreedom, 1);
        if (degreesOfFreedom <= Table.Length)
        {
            return Table[degreesOfFreedom - 1];
        }

        // Beyond the table, the Cornish-Fisher expansion around the normal quantile (good to 1e-4 there).
        const double z = 1.959964;
        double n = degreesOfFreedom;
        return z + ((Math.Pow(z, 3) + z) / (4 * n)) + (((5 * Math.Pow(z, 5)) + (16 * Math.Pow(z, 3)) + (3 * z)) / (96 * n * n));
    }
}
