using System.Globalization;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// Prints the ratios A / B of each pair, per workload: CPU per request and requests/s with their spread over the
/// rounds, then latency and memory; and yarp+policy's half-close rate over plain yarp's conn-per-request rate.
/// </summary>
internal static class RatioTable
{
    private static readonly (HostKind A, HostKind B, string Note)[] Pairs =
    [
        (HostKind.KestrelTwin, HostKind.Kestrel, " (A/A)"),
        (HostKind.KestrelFloor, HostKind.Kestrel, " (floor)"),
        (HostKind.KestrelPolicy, HostKind.Kestrel, ""),
        (HostKind.KestrelPolicy, HostKind.KestrelFloor, ""),
        (HostKind.YarpPolicy, HostKind.Yarp, ""),
        (HostKind.YarpPolicy, HostKind.HaProxy, ""),
    ];

    public static void Print(IReadOnlyList<Measurement> measurements, bool together, Measurement? reference, int sets)
    {
        var pairs = measurements.Select(m => m.Workload).Distinct()
            .SelectMany(w => Pairs.Select(p => (Workload: w, p.Note, A: Find(measurements, p.A, w), B: Find(measurements, p.B, w))))
            .Where(p => p.A is not null && p.B is not null)
            .Select(p => (p.Workload, Name: $"{HostKinds.Name(p.A!.Host)} / {HostKinds.Name(p.B!.Host)}{p.Note}", A: p.A!, B: p.B!))
            .ToList();

        Console.WriteLine();
        Console.WriteLine(together
            ? "Ratios A / B, paired by round (A and B of one set of processes driven at the same time, each by its own client)."
            : "Ratios A / B, paired by round (A and B of one set of processes driven one right after the other: A B, then B A on the set's next turn).");
        Console.WriteLine("cpu/req: CPU time per request, below 1 is cheaper; req/s: above 1 is faster. The A/A pair (the same server twice)");
        Console.WriteLine("  is the noise floor. median: of the per-round ratios. gmean [95% CI]: the geometric mean of the per-round ratios and");
        Console.WriteLine("  a Student t-interval (n-1 df) of the mean per-round log ratio, taken back to ratios; ±: its half-width.");
        Console.WriteLine("  [sets]: the same interval over the process sets (each set's mean log ratio, sets-1 df), which also holds when");
        Console.WriteLine("  one process differs from another of its build for its whole life; n/a with one set. pooled: the ratio of the");
        Console.WriteLine("  values over all rounds together. n: rounds.");
        if (measurements.Any(m => m.Host == HostKind.KestrelFloor))
        {
            Console.WriteLine("kestrel+floor (--twin=floor, in the A/A twin's place): plain Kestrel with the least a FIN-watching connection");
            Console.WriteLine("  middleware does (a token source between the transport's close and Kestrel, a feature, a pass-through input and");
            Console.WriteLine("  output, a completion callback), none of the policy's own work. kestrel+policy / kestrel+floor: what the policy");
            Console.WriteLine("  costs over that, paired by round as the others.");
        }

        Console.WriteLine(Header);
        foreach (var (workload, name, a, b) in pairs)
        {
            var cpu = RoundRatios.From(a.Rounds.Select(r => r.CpuPerRequest), b.Rounds.Select(r => r.CpuPerRequest), a.CpuPerRequest, b.CpuPerRequest, sets);
            var rate = RoundRatios.From(
                a.Rounds.Select(r => (double?)r.RequestsPerSecond), b.Rounds.Select(r => (double?)r.RequestsPerSecond), a.RequestsPerSecond, b.RequestsPerSecond, sets);
            PrintRow(Workloads.Name(workload), name, "cpu/req", cpu);
            PrintRow("", "", "req/s", rate);
        }

        Console.WriteLine();
        Console.WriteLine("Latency, memory and the hosts' own counts, A / B over all rounds (above 1 is more); B/req, items/req: bytes");
        Console.WriteLine("  allocated and thread-pool work items per request, exact counts; waits/req: voluntary context switches per request;");
        Console.WriteLine("  GC/kreq, exc/kreq: garbage collections and exceptions thrown per 1 000 requests (their difference in parentheses).");
        Console.WriteLine($"{"workload",-16} {"pair",-32} {"p50",7} {"p99",7} {"peak",7} {"B/req",-16} {"items/req",-16} {"waits/req",-16} {"GC/kreq",-16} {"exc/kreq",-16}");
        foreach (var (workload, name, a, b) in pairs)
        {
            Console.WriteLine($"{Workloads.Name(workload),-16} {name,-32} {Ratio(a.Latency(0.50), b.Latency(0.50)),7} " +
                $"{Ratio(a.Latency(0.99), b.Latency(0.99)),7} {Ratio(a.PeakBytes, b.PeakBytes),7} " +
                $"{CountRatio(a.AllocatedPerRequest, b.AllocatedPerRequest, 0),-16} {CountRatio(a.WorkItemsPerRequest, b.WorkItemsPerRequest, 2),-16} " +
                $"{CountRatio(a.WaitsPerRequest, b.WaitsPerRequest, 2),-16} " +
                $"{CountRatio(a.CollectionsPerThousand, b.CollectionsPerThousand, 2),-16} " +
                $"{CountRatio(a.ExceptionsPerThousand, b.ExceptionsPerThousand, 1),-16}");
        }

        PrintHalfCloseRate(measurements, reference, sets);
    }

    /// <summary>yarp+policy under half-closing clients against plain yarp under conn-per-request, in the same rounds.</summary>
    private static void PrintHalfCloseRate(IReadOnlyList<Measurement> measurements, Measurement? reference, int sets)
    {
        var halfClose = Find(measurements, HostKind.YarpPolicy, Workload.HalfClose);
        var connPerRequest = reference ?? Find(measurements, HostKind.Yarp, Workload.ConnectionPerRequest);
        if (halfClose is null || connPerRequest is null)
        {
            return;
        }

        var ratios = RoundRatios.From(
            halfClose.Rounds.Select(r => (double?)r.RequestsPerSecond),
            connPerRequest.Rounds.Select(r => (double?)r.RequestsPerSecond),
            halfClose.RequestsPerSecond,
            connPerRequest.RequestsPerSecond,
            sets);
        Console.WriteLine();
        Console.WriteLine("half-close: yarp+policy's rate over the rate at which plain yarp proxies conn-per-request");
        Console.WriteLine(reference is null
            ? "  (yarp+policy's half-close req/s / yarp's conn-per-request req/s; both driven in every round)"
            : "  (yarp+policy's half-close req/s / yarp's conn-per-request req/s, the two driven at the same time in every round)");
        Console.WriteLine(Header);
        PrintRow("half-close", "yarp+policy / yarp c-p-r", "req/s", ratios);
    }

    private static void PrintRow(string workload, string pair, string metric, RoundRatios? r)
    {
        if (r is null)
        {
            Console.WriteLine($"{workload,-16} {pair,-32} {metric,-7} {"n/a",7}");
            return;
        }

        var pooled = r.Pooled is { } p ? F(p) : "n/a";
        Console.WriteLine($"{workload,-16} {pair,-32} {metric,-7} {F(r.Median),7} {F(r.GeometricMean),7} {Interval(r.Low, r.High),-16} {Spread(r.Spread),6} " +
            $"{Interval(r.SetLow, r.SetHigh),-16} {Spread(r.SetSpread),6} {pooled,7} {r.Count,3}");
    }

    private static string Header =>
        $"{"workload",-16} {"pair",-32} {"metric",-7} {"median",7} {"gmean",7} {"[95% CI]",-16} {"±",6} {"[sets]",-16} {"±",6} {"pooled",7} {"n",3}";

    private static string Interval(double? low, double? high) => low is { } l && high is { } h ? $"[{F(l)}, {F(h)}]" : "n/a";

    private static string Spread(double? spread) => spread is { } s ? (s * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "n/a";

    private static Measurement? Find(IReadOnlyList<Measurement> measurements, HostKind host, Workload workload) =>
        measurements.FirstOrDefault(m => m.Host == host && m.Workload == workload);

    private static string F(double ratio) => ratio.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Ratio(TimeSpan? a, TimeSpan? b) => a is { } x && b is { } y ? Ratio(x.Ticks, y.Ticks) : "n/a";

    private static string CountRatio(double? a, double? b, int digits) => a is { } x && b is { } y && y > 0
        ? $"{Ratio(x, y)} ({Math.Round(x - y, digits).ToString(digits == 0 ? "+0;-0;0" : "+0.00;-0.00;0.00", CultureInfo.InvariantCulture)})"
        : "n/a";

    private static string Ratio(double a, double b) => b > 0 ? (a / b).ToString("0.00", CultureInfo.InvariantCulture) : "n/a";
}
