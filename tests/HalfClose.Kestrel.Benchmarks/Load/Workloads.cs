namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>Names of the workloads on the command line and in the tables.</summary>
internal static class Workloads
{
    public static string Name(Workload workload) => workload switch
    {
        Workload.KeepAlive => "keep-alive",
        Workload.ConnectionPerRequest => "conn-per-request",
        Workload.HalfClose => "half-close",
        _ => throw new ArgumentOutOfRangeException(nameof(workload), workload, null),
    };

    public static Workload Parse(string name)
    {
        foreach (var workload in Enum.GetValues<Workload>())
        {
            if (Name(workload) == name)
            {
                return workload;
            }
        }

        throw new ArgumentException($"Unknown workload '{name}'; one of {string.Join(", ", Enum.GetValues<Workload>().Select(Name))}.", nameof(name));
    }
}
