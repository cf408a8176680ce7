using System.Runtime.InteropServices;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// The end-to-end load run: starts the hosts as child processes on 127.0.0.1, warms every host up under every workload,
/// then, for a number of short rounds, drives the two sides of each pair at the same time (or, with <c>--drive=turns</c>,
/// one right after the other: A B, then B A in the next round); prints the tables.
/// </summary>
internal static class LoadRunner
{
    /// <summary>A warm-up pass in which each host compiled at most this many methods leaves the set warm.</summary>
    private const int SettledMethods = 30;

    private const int MaxWarmupPasses = 6;

    // In the order they are driven: each pair side by side, plain Kestrel between its twin (or the floor) and the policy.
    private static HostKind[] Compared(LoadOptions options) =>
        [options.Twin, HostKind.Kestrel, HostKind.KestrelPolicy, HostKind.Yarp, HostKind.YarpPolicy];

    public static async Task<int> RunAsync(LoadOptions options)
    {
        // Ctrl+C or SIGTERM: finish the current round, then stop every host (HAProxy does not watch its standard input).
        using var interrupted = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);

        var haProxy = await WantHaProxyAsync(options.HaProxy);
        var hosts = new List<HostProcess>();
        var sets = new List<List<HostProcess>>();
        HostProcess? origin = null;
        try
        {
            origin = await HostProcess.StartDotnetAsync(HostKind.Kestrel, originUrl: null, options);
            for (var i = 0; i < options.Processes; i++)
            {
                var set = new List<HostProcess>();
                foreach (var kind in Compared(options).Where(k => HostKinds.IsYarp(k) ? options.YarpPairs : options.KestrelPairs))
                {
                    set.Add(await HostProcess.StartDotnetAsync(kind, HostKinds.IsYarp(kind) ? origin.Url : null, options));
                }

                hosts.AddRange(set);
                sets.Add(set);
            }

            if (haProxy)
            {
                try
                {
                    // One HAProxy, in every set: it is only a reference figure, not one side of a pair.
                    var proxy = await HaProxy.StartAsync(origin.Port);
                    hosts.Add(proxy);
                    sets.ForEach(set => set.Add(proxy));
                }
                catch (InvalidOperationException ex)
                {
                    Console.WriteLine($"HAProxy left out: {ex.Message}");
                }
            }

            var perRound = options.Together ? Groups(options, sets[0]).Count : Slots(options, sets[0]).Count;
            ReportTable.PrintPlan(options, sets, origin, perRound, options.Together ? sets.Count * perRound : WarmupSlots(options, sets).Count);
            var warm = await WarmUpAsync(options, sets, interrupted.Token);
            var machine = new MachineLoad();
            var (measurements, reference) = options.Together
                ? await DriveTogetherAsync(options, sets, origin, machine, interrupted.Token)
                : (await DriveAsync(options, sets, origin, machine, interrupted.Token), null);
            await PrintCompiledDuringRoundsAsync(sets, warm);
            ReportTable.Print([.. measurements.Where(m => m.Rounds.Count > 0)], origin, machine, options.Together, reference, sets.Count);
            return interrupted.IsCancellationRequested ? 130 : 0;
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }

            if (origin is not null)
            {
                await origin.DisposeAsync();
            }
        }

        void Interrupt(PosixSignalContext context)
        {
            context.Cancel = true;
            interrupted.Cancel();
        }
    }

    private static async Task<List<Measurement>> DriveAsync(
        LoadOptions options, List<List<HostProcess>> sets, HostProcess origin, MachineLoad machine, CancellationToken interrupted)
    {
        // Every round drives every workload on one set of host processes, the sets in turn: a pair is compared within a
        // round, and so is yarp+policy's half-close with yarp's conn-per-request.
        var setSlots = sets.Select(set => Slots(options, set)).ToList();
        var results = setSlots[0].ToDictionary(s => (s.Host.Kind, s.Workload), s => new Measurement(s.Host.Kind, s.Workload));
        List<LoadClient> client = [new(options.Connections, options.Round, options.MaxRequests)];
        var leadIn = new LoadClient(options.Connections, options.Round / 4, options.MaxRequests);
        for (var round = 1; round <= options.Rounds && !interrupted.IsCancellationRequested; round++)
        {
            // A B then B A on each set's next turn: the host that goes second meets what the first left behind (a
            // conn-per-request slot leaves tens of thousands of ports in TIME-WAIT); alternating cancels that out.
            var (set, turn) = ((round - 1) % sets.Count, (round - 1) / sets.Count);
            var slots = setSlots[set];
            var order = (turn % 2 == 0 ? slots : Enumerable.Reverse(slots)).ToList();
            for (var i = 0; i < order.Count && !interrupted.IsCancellationRequested; i++)
            {
                var (host, workload) = order[i];
                if (i == 0 || order[i - 1].Workload != workload)
                {
                    var label = sets.Count > 1 ? $" #{set + 1}" : "";
                    Console.Write($"{(i == 0 ? "" : Environment.NewLine)}round {round}/{options.Rounds}{label} {Workloads.Name(workload),-16}:");

                    // Not measured: the workload's second host for a quarter round, so that its first host, like every
                    // other, follows another host under the same workload (not itself, nor another workload).
                    if (i + 1 < order.Count && order[i + 1].Workload == workload)
                    {
                        await leadIn.RunAsync(workload, order[i + 1].Host.Port);
                    }
                }

                var (result, peakReset) = (await RunGroupAsync(client, [new Slot(host, workload, Reference: false)], origin, machine))[0];
                results[(host.Kind, workload)].Add(result);
                PrintSlot(host.Name, result, peakReset);
            }

            Console.WriteLine();
        }

        return [.. setSlots[0].Select(s => results[(s.Host.Kind, s.Workload)])];
    }

    /// <summary>
    /// Every round drives one set of host processes, group by group (<see cref="Groups"/>), the groups in the opposite order on
    /// the set's next turn; the slots of a group at the same time, each with its own client, the slots turned by one client
    /// each round. Returns the measurements in the order of the turns' slots, and plain yarp's conn-per-request driven
    /// beside yarp+policy's half-close (null without).
    /// </summary>
    private static async Task<(List<Measurement> Measurements, Measurement? Reference)> DriveTogetherAsync(
        LoadOptions options, List<List<HostProcess>> sets, HostProcess origin, MachineLoad machine, CancellationToken interrupted)
    {
        var setGroups = sets.Select(set => Groups(options, set)).ToList();
        var results = Slots(options, sets[0]).ToDictionary(s => (s.Host.Kind, s.Workload), s => new Measurement(s.Host.Kind, s.Workload));
        var reference = setGroups[0].SelectMany(g => g).Any(s => s.Reference) ? new Measurement(HostKind.Yarp, Workload.ConnectionPerRequest) : null;
        var clients = Enumerable.Range(0, setGroups.Max(groups => groups.Max(g => g.Count)))
            .Select(_ => new LoadClient(options.Connections, options.Round, options.MaxRequests))
            .ToList();
        for (var round = 1; round <= options.Rounds && !interrupted.IsCancellationRequested; round++)
        {
            var (set, turn) = ((round - 1) % sets.Count, (round - 1) / sets.Count);
            var groups = turn % 2 == 0 ? setGroups[set] : Enumerable.Reverse(setGroups[set]).ToList();
            foreach (var group in groups.TakeWhile(_ => !interrupted.IsCancellationRequested))
            {
                var label = sets.Count > 1 ? $" #{set + 1}" : "";
                Console.Write($"round {round}/{options.Rounds}{label} {Workloads.Name(group.First(s => !s.Reference).Workload),-16}:");

                // Which client drives which slot, and which starts first, turn with the rounds: neither favours one side.
                var shift = round % group.Count;
                var turned = group.Skip(shift).Concat(group.Take(shift)).ToList();
                var rounds = await RunGroupAsync(clients, turned, origin, machine);
                for (var i = 0; i < turned.Count; i++)
                {
                    var (slot, result) = (turned[i], rounds[i].Result);
                    (slot.Reference ? reference! : results[(slot.Host.Kind, slot.Workload)]).Add(result);
                    PrintSlot(slot.Reference ? $"{slot.Host.Name} ({Workloads.Name(slot.Workload)})" : slot.Host.Name, result, rounds[i].PeakReset);
                }

                Console.WriteLine();
            }
        }

        return ([.. Slots(options, sets[0]).Select(s => results[(s.Host.Kind, s.Workload)])], reference);
    }

    /// <summary>
    /// The slots of one group at the same time (in turns, a group of one), each with its own client, and the CPU time each
    /// host used meanwhile (and its counters, read before and after). The origin's is given to a proxy only when the group
    /// has no other: with two, it served both.
    /// </summary>
    private static async Task<(RoundResult Result, bool PeakReset)[]> RunGroupAsync(
        List<LoadClient> clients, List<Slot> group, HostProcess origin, MachineLoad machine)
    {
        var peakReset = group.Select(s => ProcMemory.TryResetPeak(s.Host.Pid)).ToArray();
        var proxies = group.Count(s => HostKinds.IsYarp(s.Host.Kind));
        var countersBefore = await Task.WhenAll(group.Select(s => s.Host.CountersAsync()));
        var hostsBefore = group.Select(s => ProcCpu.Time(s.Host.Pid)).ToArray();
        var before = (Origin: ProcCpu.Time(origin.Pid), Runner: ProcCpu.Time(Environment.ProcessId), Machine: ProcCpu.MachineTimes());
        var runs = await Task.WhenAll(group.Select((slot, i) => clients[i].RunAsync(slot.Workload, slot.Host.Port)));
        var hostsAfter = group.Select(s => ProcCpu.Time(s.Host.Pid)).ToArray();
        var after = (Origin: ProcCpu.Time(origin.Pid), Runner: ProcCpu.Time(Environment.ProcessId), Machine: ProcCpu.MachineTimes());
        var countersAfter = await Task.WhenAll(group.Select(s => s.Host.CountersAsync()));

        var originCpu = after.Origin - before.Origin;
        var hostsCpu = hostsBefore.Zip(hostsAfter, (b, a) => a - b).ToArray();
        TimeSpan? ours = after.Runner - before.Runner + (proxies > 0 ? originCpu : TimeSpan.Zero);
        foreach (var cpu in hostsCpu)
        {
            ours += cpu;
        }

        machine.Add(after.Machine?.Busy - before.Machine?.Busy, after.Machine?.Total - before.Machine?.Total, ours);
        return [.. group.Select((slot, i) => (
            RoundResult.From(runs[i].Tallies, runs[i].Elapsed, ProcMemory.PeakBytes(slot.Host.Pid), hostsCpu[i],
                HostKinds.IsYarp(slot.Host.Kind) && proxies == 1 ? originCpu : null, countersAfter[i] - countersBefore[i]),
            peakReset[i]))];
    }

    /// <summary>
    /// What <c>--drive=together</c> drives at once: per workload, the Kestrel hosts together and the YARP hosts together;
    /// under half-closing clients, the Kestrel hosts together, yarp+policy beside plain yarp's conn-per-request (the
    /// reference for the half-close rate), and plain yarp and HAProxy each alone (their figures are for reference).
    /// </summary>
    private static List<List<Slot>> Groups(LoadOptions options, List<HostProcess> set)
    {
        var groups = new List<List<Slot>>();
        foreach (var workload in options.Workloads)
        {
            if (workload == Workload.HalfClose)
            {
                Add((options.Twin, workload, false), (HostKind.Kestrel, workload, false), (HostKind.KestrelPolicy, workload, false));
                Add((HostKind.Yarp, Workload.ConnectionPerRequest, true), (HostKind.YarpPolicy, workload, false));
                Add((HostKind.Yarp, workload, false));
                Add((HostKind.HaProxy, workload, false));
            }
            else
            {
                Add((options.Twin, workload, false), (HostKind.Kestrel, workload, false), (HostKind.KestrelPolicy, workload, false));
                Add((HostKind.Yarp, workload, false), (HostKind.YarpPolicy, workload, false));
            }
        }

        return groups;

        void Add(params (HostKind Kind, Workload Workload, bool Reference)[] slots)
        {
            var group = slots
                .Select(s => (Host: set.FirstOrDefault(h => h.Kind == s.Kind), s.Workload, s.Reference))
                .Where(s => s.Host is not null && !(s.Reference && set.All(h => h.Kind != HostKind.YarpPolicy)))
                .Select(s => new Slot(s.Host!, s.Workload, s.Reference))
                .ToList();
            if (group.Count > 0)
            {
                groups.Add(group);
            }
        }
    }

    /// <summary>One host under one workload in a group; a reference slot is measured for the half-close rate only.</summary>
    private readonly record struct Slot(HostProcess Host, Workload Workload, bool Reference);

    /// <summary>
    /// Warm-up: every host process under every workload it takes, set by set, pass after pass until a pass in which no
    /// host's JIT compiled more than <see cref="SettledMethods"/> methods (at most <see cref="MaxWarmupPasses"/> passes). A
    /// .NET host keeps compiling for seconds after it starts serving (tier 0, then instrumented code, then tier 1); a host
    /// measured before that ends pays for it in its rounds, the one with more code (the policy) more than its pair.
    /// Returns each .NET host's compiled-method count at the end, to tell how much was compiled during the rounds.
    /// </summary>
    private static async Task<Dictionary<HostProcess, long>> WarmUpAsync(
        LoadOptions options, List<List<HostProcess>> sets, CancellationToken interrupted)
    {
        // Driven as the rounds drive them (together: a group's hosts at once), each host under each of its workloads.
        var warmed = new HashSet<HostProcess>();
        var counts = new Dictionary<HostProcess, long>();
        List<LoadClient> clients = [];
        for (var i = 0; i < sets.Count && !interrupted.IsCancellationRequested; i++)
        {
            // HAProxy is in every set: warmed up once.
            var groups = (options.Together
                    ? Groups(options, sets[i])
                    : [.. Slots(options, sets[i]).Select(s => new List<Slot> { new(s.Host, s.Workload, false) })])
                .Select(g => g.Where(s => !warmed.Contains(s.Host)).ToList())
                .Where(g => g.Count > 0)
                .ToList();
            if (groups.Count == 0)
            {
                continue;
            }

            var hosts = groups.SelectMany(g => g.Select(s => s.Host)).Distinct().ToList();
            warmed.UnionWith(hosts);
            while (clients.Count < groups.Max(g => g.Count))
            {
                clients.Add(new LoadClient(options.Connections, options.Warmup, options.MaxRequests));
            }

            for (var pass = 1; pass <= MaxWarmupPasses && !interrupted.IsCancellationRequested; pass++)
            {
                var before = await CompiledMethodsAsync(hosts);
                foreach (var group in groups.TakeWhile(_ => !interrupted.IsCancellationRequested))
                {
                    await Task.WhenAll(group.Select((slot, c) => clients[c].RunAsync(slot.Workload, slot.Host.Port)));
                }

                var after = await CompiledMethodsAsync(hosts);
                var compiled = after.Where(a => before.ContainsKey(a.Key)).Select(a => (a.Key, Methods: a.Value - before[a.Key])).ToList();
                Console.WriteLine($"warm-up{(sets.Count > 1 ? $" #{i + 1}" : "")} pass {pass}: methods compiled " +
                    string.Join(", ", compiled.Select(c => $"{c.Key.Name} {c.Methods}")));
                foreach (var (host, count) in after)
                {
                    counts[host] = count;
                }

                if (compiled.All(c => c.Methods <= SettledMethods))
                {
                    break;
                }

                if (pass == MaxWarmupPasses)
                {
                    Console.WriteLine($"warm-up{(sets.Count > 1 ? $" #{i + 1}" : "")}: not settled after {MaxWarmupPasses} passes; " +
                        "the rounds will count the JIT's work (a longer --warmup settles it in fewer passes)");
                }
            }
        }

        Console.WriteLine();
        return counts;
    }

    /// <summary>The compiled-method count of each .NET host among <paramref name="hosts"/> (HAProxy has none).</summary>
    private static async Task<Dictionary<HostProcess, long>> CompiledMethodsAsync(IEnumerable<HostProcess> hosts)
    {
        var counts = new Dictionary<HostProcess, long>();
        foreach (var host in hosts)
        {
            if (await host.CountersAsync() is { } counters)
            {
                counts[host] = counters.Methods;
            }
        }

        return counts;
    }

    /// <summary>Per host kind, the methods each process's JIT compiled during the measured rounds: warm-up that leaked in.</summary>
    private static async Task PrintCompiledDuringRoundsAsync(List<List<HostProcess>> sets, Dictionary<HostProcess, long> warm)
    {
        var now = await CompiledMethodsAsync(warm.Keys);
        Console.WriteLine("JIT during the measured rounds (methods compiled, per process): " + string.Join("; ", sets[0]
            .Where(h => warm.ContainsKey(h))
            .Select(h => $"{h.Name} " + string.Join(" ", sets.Select(set => set.First(x => x.Kind == h.Kind))
                .Select(x => now.TryGetValue(x, out var count) && warm.TryGetValue(x, out var before) ? $"{count - before}" : "n/a")))));
    }

    /// <summary>One slot's round on the progress line: its rate and CPU per request.</summary>
    private static void PrintSlot(string name, RoundResult result, bool peakReset)
    {
        var cpu = result.CpuPerRequest is { } us ? $" {us:0.0}µs" : "";
        Console.Write($"  {name} {result.RequestsPerSecond:0}/s{cpu}{(peakReset ? "" : " (peak not reset)")}");
    }

    /// <summary>Every host under every workload it takes, workload by workload, each in the order of <paramref name="hosts"/>.</summary>
    private static List<(HostProcess Host, Workload Workload)> Slots(LoadOptions options, List<HostProcess> hosts) =>
        [.. options.Workloads.SelectMany(w => hosts.Where(h => Drives(h.Kind, w)).Select(h => (h, w)))];

    /// <summary>Every host process under every workload it takes, once (HAProxy is in every set).</summary>
    private static List<(HostProcess Host, Workload Workload)> WarmupSlots(LoadOptions options, List<List<HostProcess>> sets) =>
        [.. sets.SelectMany(set => Slots(options, set)).Distinct()];

    /// <summary>
    /// HAProxy takes the half-closing clients only. The A/A twin takes every workload plain Kestrel takes: a process's
    /// history (what it compiled, the threads it started) is part of what it costs later.
    /// </summary>
    private static bool Drives(HostKind host, Workload workload) => host != HostKind.HaProxy || workload == Workload.HalfClose;

    private static async Task<bool> WantHaProxyAsync(HaProxyMode mode)
    {
        if (mode == HaProxyMode.Off || HaProxy.IsInstalled())
        {
            return mode != HaProxyMode.Off;
        }

        if (mode == HaProxyMode.Install && await HaProxy.InstallAsync())
        {
            return true;
        }

        Console.WriteLine($"HAProxy left out: haproxy is not installed{(mode == HaProxyMode.Auto ? " (--haproxy=install installs it with apt-get)" : "")}.");
        return false;
    }
}
