using System.Globalization;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>The load run's settings: <c>load [--seconds=N] [--rounds=N] [--warmup=N] [--connections=N] ...</c>.</summary>
internal sealed record LoadOptions
{
    public TimeSpan Round { get; init; } = TimeSpan.FromSeconds(0.5);

    public int Rounds { get; init; } = 40;

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Concurrent client connections (keep-alive) or workers (one connection per request).</summary>
    public int Connections { get; init; } = 16;

    /// <summary>At most this many requests per host per round, whatever the time left.</summary>
    public int MaxRequests { get; init; } = 1_000_000;

    /// <summary>
    /// Host processes of each kind; the rounds take them in turn (round r the set r mod N), so that the ratios and their
    /// intervals take in how much one process differs from another of the same build, not only one round from the next.
    /// </summary>
    public int Processes { get; init; } = 3;

    /// <summary>
    /// Whether the two sides of each pair are driven at the same time (<c>--drive=together</c>, the default), so that what
    /// slows the machine down meanwhile (other processes, another tenant's use of the cores) slows both alike; else one
    /// right after the other (<c>--drive=turns</c>).
    /// </summary>
    public bool Together { get; init; } = true;

    public bool ServerGc { get; init; } = true;

    /// <summary>
    /// Whether server GC adapts its heaps to the application (DATAS, .NET's default with server GC: <c>--gc=datas</c>); off
    /// by default (<c>--gc=server</c>: a fixed heap per core). With it, each process settles on its own heap count and
    /// budget, one collecting after 2.9 MB and its twin after 5.2 MB under the same load, and its collections' cost per
    /// request moves with that: a difference between processes, not builds.
    /// </summary>
    public bool AdaptiveGc { get; init; }

    /// <summary>
    /// The thread-pool worker threads of every .NET host, fixed (<c>--threads=N</c>, its minimum and maximum), or left to
    /// the pool (<c>--threads=auto</c>). Left to it, each process's pool settles on its own count, 3 in one process and 11 in
    /// its twin, and a process with more threads gets more of the machine and uses more CPU per request (the A/A pair read
    /// 1.12 to 1.18 with one process each): a difference between processes, not builds.
    /// </summary>
    public int? PoolThreads { get; init; } = 4;

    public HaProxyMode HaProxy { get; init; } = HaProxyMode.Auto;

    public IReadOnlyList<Workload> Workloads { get; init; } = Enum.GetValues<Workload>();

    /// <summary>
    /// Which pairs are started and driven (<c>--pairs=kestrel,yarp</c>, both by default): <c>kestrel</c> is the A/A twin, plain
    /// Kestrel and Kestrel with the policy; <c>yarp</c> plain YARP and YARP with the policy. One pair alone takes a fraction of
    /// the time, for a change that concerns only it.
    /// </summary>
    public bool KestrelPairs { get; init; } = true;

    /// <inheritdoc cref="KestrelPairs"/>
    public bool YarpPairs { get; init; } = true;

    /// <summary>
    /// What is driven beside plain Kestrel and Kestrel with the policy: a second plain Kestrel, the A/A pair
    /// (<c>--twin=same</c>, the default), or the floor (<c>--twin=floor</c>, <see cref="HostKind.KestrelFloor"/>): the least
    /// a FIN-watching connection middleware does, to read the policy's ratio against in the same rounds.
    /// </summary>
    public HostKind Twin { get; init; } = HostKind.KestrelTwin;

    public const string Usage =
        "load [--seconds=0.5] [--rounds=40] [--warmup=2] [--connections=16] [--max-requests=1000000] [--processes=3] " +
        "[--drive=together|turns] [--gc=server|datas|workstation] [--threads=4|auto] [--haproxy=auto|off|install] [--workloads=keep-alive,conn-per-request,half-close] [--pairs=kestrel,yarp] [--twin=same|floor]";

    public static LoadOptions Parse(IEnumerable<string> args)
    {
        var options = new LoadOptions();
        foreach (var arg in args)
        {
            var (name, value) = arg.Split('=', 2) is [var n, var v] ? (n, v) : throw Bad(arg);
            options = name switch
            {
                "--seconds" => options with { Round = TimeSpan.FromSeconds(Positive(value, max: 60)) },
                "--rounds" => options with { Rounds = (int)Positive(value, max: 1000) },
                "--warmup" => options with { Warmup = TimeSpan.FromSeconds(Positive(value, max: 60)) },
                "--connections" => options with { Connections = (int)Positive(value, max: 1000) },
                "--max-requests" => options with { MaxRequests = (int)Positive(value, max: 100_000_000) },
                "--processes" => options with { Processes = Whole(value, max: 8) },
                "--drive" => options with { Together = value switch { "together" => true, "turns" => false, _ => throw Bad(arg) } },
                "--gc" => value switch
                {
                    "server" => options with { ServerGc = true, AdaptiveGc = false },
                    "datas" => options with { ServerGc = true, AdaptiveGc = true },
                    "workstation" => options with { ServerGc = false, AdaptiveGc = false },
                    _ => throw Bad(arg),
                },
                "--threads" => options with { PoolThreads = value == "auto" ? null : Whole(value, max: 256) },
                "--haproxy" => options with { HaProxy = Enum.TryParse<HaProxyMode>(value, ignoreCase: true, out var mode) ? mode : throw Bad(arg) },
                "--workloads" => options with { Workloads = [.. value.Split(',').Select(Load.Workloads.Parse)] },
                "--pairs" => value.Split(',') is var pairs && pairs.All(p => p is "kestrel" or "yarp")
                    ? options with { KestrelPairs = pairs.Contains("kestrel"), YarpPairs = pairs.Contains("yarp") }
                    : throw Bad(arg),
                "--twin" => options with { Twin = value switch { "same" => HostKind.KestrelTwin, "floor" => HostKind.KestrelFloor, _ => throw Bad(arg) } },
                _ => throw Bad(arg),
            };
        }

        return options;
    }

    private static double Positive(string value, double max) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number > 0 && number <= max
            ? number
            : throw new ArgumentException($"'{value}' is not a number in (0, {max}].");

    private static int Whole(string value, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= 1 && number <= max
            ? number
            : throw new ArgumentException($"'{value}' is not a whole number in [1, {max}].");

    private static ArgumentException Bad(string arg) => new($"Unknown option '{arg}'. Usage: {Usage}");
}
