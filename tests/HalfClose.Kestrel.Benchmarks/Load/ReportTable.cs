using System.Globalization;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>Prints the plan, the results table and the with/without ratios.</summary>
internal static class ReportTable
{
    private const double MiB = 1024 * 1024;

    public static void PrintPlan(LoadOptions options, IEnumerable<HostProcess> hosts, HostProcess origin)
    {
        var list = hosts.ToList();
        var perWorkload = list.Count * (options.Warmup + (options.Round * options.Rounds));
        Console.WriteLine($"Load run on 127.0.0.1: {options.Connections} connections, {options.Rounds} rounds of {options.Round.TotalSeconds:0.#} s " +
            $"per host and workload after {options.Warmup.TotalSeconds:0.#} s of warm-up; {(options.ServerGc ? "server" : "workstation")} GC in the .NET hosts; " +
            $"about {(perWorkload * options.Workloads.Count).TotalSeconds:0} s.");
        Console.WriteLine($"  origin (plain Kestrel, behind the proxies): port {origin.Port}, pid {origin.Pid}");
        foreach (var host in list)
        {
            Console.WriteLine($"  {host.Name,-15} port {host.Port}, pid {host.Pid}, resident after start {ProcMemory.ResidentBytes(host.Pid) / MiB:0.0} MiB");
        }

        Console.WriteLine();
    }

    public static void Print(IReadOnlyList<Measurement> measurements, HostProcess origin)
    {
        Console.WriteLine();
        Console.WriteLine("Peak MiB: the host process's peak resident set (VmHWM), reset before each round; the highest round.");
        Console.WriteLine("Zero-byte: connections that ended with no byte of response. Failed: resets after bytes, timeouts, non-200, connect errors.");
        Console.WriteLine();
        Console.WriteLine($"{"workload",-16} {"host",-15} {"req/s",9} {"p50 ms",8} {"p99 ms",8} {"peak MiB",9} {"ok",9} {"zero-byte",9} {"failed",7}  rounds req/s");
        foreach (var m in measurements)
        {
            var rounds = string.Join(" ", m.Rounds.Select(r => r.RequestsPerSecond.ToString("0", CultureInfo.InvariantCulture)));
            Console.WriteLine($"{Workloads.Name(m.Workload),-16} {HostKinds.Name(m.Host),-15} {m.RequestsPerSecond,9:0} {Ms(m.Latency(0.50)),8} " +
                $"{Ms(m.Latency(0.99)),8} {m.PeakBytes / MiB,9:0.0} {m.Ok,9} {m.ZeroByte,9} {m.Failed,7}  {rounds}");
        }

        Console.WriteLine($"(origin, lifetime peak: {ProcMemory.PeakBytes(origin.Pid) / MiB:0.0} MiB)");
        Console.WriteLine();
        Console.WriteLine("Ratios, with policy / without (req/s above 1 is faster; latency and memory above 1 are more).");
        Console.WriteLine("req/s: all rounds pooled; median: the median of the per-round ratios (rounds run A B, then B A).");
        Console.WriteLine($"{"workload",-16} {"pair",-28} {"req/s",7} {"median",7} {"p50",7} {"p99",7} {"peak",7}");
        foreach (var workload in measurements.Select(m => m.Workload).Distinct())
        {
            PrintRatio(measurements, workload, HostKind.KestrelPolicy, HostKind.Kestrel);
            PrintRatio(measurements, workload, HostKind.YarpPolicy, HostKind.Yarp);
            PrintRatio(measurements, workload, HostKind.YarpPolicy, HostKind.HaProxy);
        }
    }

    private static void PrintRatio(IReadOnlyList<Measurement> measurements, Workload workload, HostKind with, HostKind without)
    {
        var a = measurements.FirstOrDefault(m => m.Workload == workload && m.Host == with);
        var b = measurements.FirstOrDefault(m => m.Workload == workload && m.Host == without);
        if (a is null || b is null)
        {
            return;
        }

        var pair = $"{HostKinds.Name(with)} / {HostKinds.Name(without)}";
        var median = a.MedianRoundRatio(b) is { } m ? m.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";
        Console.WriteLine($"{Workloads.Name(workload),-16} {pair,-28} {Ratio(a.RequestsPerSecond, b.RequestsPerSecond),7} {median,7} " +
            $"{Ratio(a.Latency(0.50), b.Latency(0.50)),7} {Ratio(a.Latency(0.99), b.Latency(0.99)),7} {Ratio(a.PeakBytes, b.PeakBytes),7}");
    }

    private static string Ms(TimeSpan? latency) => latency is { } l ? l.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture) : "-";

    private static string Ratio(TimeSpan? a, TimeSpan? b) => a is { } x && b is { } y ? Ratio(x.Ticks, y.Ticks) : "n/a";

    private static string Ratio(double a, double b) => b > 0 ? (a / b).ToString("0.00", CultureInfo.InvariantCulture) : "n/a";
}
