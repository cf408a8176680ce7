using System.Globalization;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>Prints the plan and the results table; the ratios are <see cref="RatioTable"/>'s.</summary>
internal static class ReportTable
{
    private const double MiB = 1024 * 1024;

    public static void PrintPlan(LoadOptions options, IReadOnlyList<IReadOnlyList<HostProcess>> sets, HostProcess origin, int perRound, int warmups)
    {
        // Driven in turns, with an unmeasured quarter round as each workload's lead-in; every host process is warmed up
        // under its workloads.
        var leadIns = options.Together ? TimeSpan.Zero : options.Workloads.Count * options.Round / 4 * options.Rounds;
        var total = (warmups * options.Warmup) + (perRound * options.Round * options.Rounds) + leadIns;
        var drive = options.Together
            ? $"the two sides of each pair driven at the same time, {perRound} groups a round"
            : $"the two sides of each pair one right after the other, {perRound} hosts x workloads a round";
        Console.WriteLine($"Load run on 127.0.0.1: {options.Connections} connections, {options.Rounds} rounds of {options.Round.TotalSeconds:0.#} s " +
            $"per host and workload after warm-up passes of {options.Warmup.TotalSeconds:0.#} s per host and workload (until the hosts' JIT " +
            $"settles); {sets.Count} host process(es) of each kind, " +
            $"taken in turn by the rounds; {drive}; {(options.ServerGc ? options.AdaptiveGc ? "server GC adapting its heaps (DATAS)" : "server GC with fixed heaps (DATAS off)" : "workstation GC")} in the .NET hosts, " +
            $"{(options.PoolThreads is { } threads ? $"{threads} thread-pool threads in each (fixed)" : "their thread pools left to size themselves")}; about {total.TotalSeconds:0} s with one warm-up pass.");
        Console.WriteLine($"CPU time: {ProcCpu.Source}.");
        Console.WriteLine($"  origin (plain Kestrel, behind the proxies): port {origin.Port}, pid {origin.Pid}");
        for (var i = 0; i < sets.Count; i++)
        {
            // HAProxy, the same process in every set, once.
            foreach (var host in sets[i].Where(h => h.Kind != HostKind.HaProxy || i == 0))
            {
                var name = sets.Count > 1 && host.Kind != HostKind.HaProxy ? $"{host.Name} #{i + 1}" : host.Name;
                Console.WriteLine($"  {name,-18} port {host.Port}, pid {host.Pid}, resident after start {ProcMemory.ResidentBytes(host.Pid) / MiB:0.0} MiB");
            }
        }

        Console.WriteLine();
    }

    public static void Print(
        IReadOnlyList<Measurement> measurements, HostProcess origin, MachineLoad machine, bool together, Measurement? reference, int sets)
    {
        Console.WriteLine();
        machine.Print();
        Console.WriteLine("cpu µs/req: the host process's CPU time (user + system, all threads) over the requests it answered with 200,");
        Console.WriteLine("  all rounds pooled; origin µs/req: the same for the origin behind a proxy, during the proxy's rounds" +
            (together ? " (n/a where both proxies were driven at once: the origin served both)." : "."));
        Console.WriteLine("Peak MiB: the host process's peak resident set (VmHWM), reset before each round; the highest round.");
        Console.WriteLine("Zero-byte: connections that ended with no byte of response. Failed: resets after bytes, timeouts, non-200, connect errors.");
        Console.WriteLine();
        Console.WriteLine("B/req, items/req: the bytes the host process allocated and the thread-pool work items it completed (its own exact");
        Console.WriteLine("  counts, read before and after each round) over the requests it answered with 200, all rounds pooled. waits/req: the");
        Console.WriteLine("  times its threads gave up the CPU to wait (voluntary context switches), per request; GC/kreq: its garbage collections");
        Console.WriteLine("  per 1 000 requests; exc/kreq: the exceptions thrown in it (caught or not) per 1 000 requests; threads: the most");
        Console.WriteLine("  thread-pool threads it had at the end of a round.");
        Console.WriteLine();
        Console.WriteLine($"{"workload",-16} {"host",-15} {"req/s",9} {"cpu µs/req",10} {"origin µs/req",13} {"B/req",8} {"items/req",9} {"waits/req",9} {"GC/kreq",7} {"exc/kreq",8} {"threads",7} {"p50 ms",8} {"p99 ms",8} " +
            $"{"peak MiB",9} {"ok",9} {"zero-byte",9} {"failed",7}  req/s per round");
        foreach (var m in measurements)
        {
            var rounds = Rounds(m.Rounds.Select(r => r.RequestsPerSecond).ToList());
            Console.WriteLine($"{Workloads.Name(m.Workload),-16} {HostKinds.Name(m.Host),-15} {m.RequestsPerSecond,9:0} {Us(m.CpuPerRequest),10} " +
                $"{Us(m.OriginCpuPerRequest),13} {Count(m.AllocatedPerRequest, "0"),8} {Count(m.WorkItemsPerRequest, "0.00"),9} " +
                $"{Count(m.WaitsPerRequest, "0.00"),9} {Count(m.CollectionsPerThousand, "0.00"),7} {Count(m.ExceptionsPerThousand, "0.0"),8} {m.PoolThreads?.ToString(CultureInfo.InvariantCulture) ?? "n/a",7} {Ms(m.Latency(0.50)),8} " +
                $"{Ms(m.Latency(0.99)),8} {m.PeakBytes / MiB,9:0.0} {m.Ok,9} {m.ZeroByte,9} {m.Failed,7}  {rounds}");
        }

        Console.WriteLine($"(origin, lifetime peak: {ProcMemory.PeakBytes(origin.Pid) / MiB:0.0} MiB)");
        RatioTable.Print(measurements, together, reference, sets);
    }

    /// <summary>Every round's value when there are a few; else the lowest, the median and the highest.</summary>
    private static string Rounds(List<double> values)
    {
        if (values.Count <= 8)
        {
            return string.Join(" ", values.Select(v => v.ToString("0", CultureInfo.InvariantCulture)));
        }

        var sorted = values.Order().Select(v => v.ToString("0", CultureInfo.InvariantCulture)).ToList();
        return $"min {sorted[0]}, median {sorted[sorted.Count / 2]}, max {sorted[^1]}";
    }

    private static string Us(double? microseconds) => microseconds is { } us ? us.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";

    private static string Count(double? perRequest, string format) => perRequest is { } n ? n.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    private static string Ms(TimeSpan? latency) => latency is { } l ? l.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture) : "-";
}
