using System.Runtime.InteropServices;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// The end-to-end load run: starts the hosts as child processes on 127.0.0.1, then for each workload warms every
/// host up and drives them in turn, without and with the policy (A B A B), for a few short rounds; prints the table.
/// </summary>
internal static class LoadRunner
{
    private static readonly HostKind[] Compared = [HostKind.Kestrel, HostKind.KestrelPolicy, HostKind.Yarp, HostKind.YarpPolicy];

    public static async Task<int> RunAsync(LoadOptions options)
    {
        // Ctrl+C or SIGTERM: finish the current round, then stop every host (HAProxy does not watch its standard input).
        using var interrupted = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);

        var haProxy = await WantHaProxyAsync(options.HaProxy);
        var hosts = new List<HostProcess>(); // in the order they are driven: A B A B
        HostProcess? origin = null;
        try
        {
            origin = await HostProcess.StartDotnetAsync(HostKind.Kestrel, originUrl: null, options.ServerGc);
            foreach (var kind in Compared)
            {
                var isProxy = kind is HostKind.Yarp or HostKind.YarpPolicy;
                hosts.Add(await HostProcess.StartDotnetAsync(kind, isProxy ? origin.Url : null, options.ServerGc));
            }

            if (haProxy)
            {
                try
                {
                    hosts.Add(await HaProxy.StartAsync(origin.Port));
                }
                catch (InvalidOperationException ex)
                {
                    Console.WriteLine($"HAProxy left out: {ex.Message}");
                }
            }

            ReportTable.PrintPlan(options, hosts, origin);
            var measurements = await DriveAsync(options, hosts, interrupted.Token);
            ReportTable.Print([.. measurements.Where(m => m.Rounds.Count > 0)], origin);
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

    private static async Task<List<Measurement>> DriveAsync(LoadOptions options, List<HostProcess> hosts, CancellationToken interrupted)
    {
        var measurements = new List<Measurement>();
        var warmup = new LoadClient(options.Connections, options.Warmup, options.MaxRequests);
        var client = new LoadClient(options.Connections, options.Round, options.MaxRequests);
        foreach (var workload in options.Workloads)
        {
            // HAProxy is driven by the half-closing clients only.
            var driven = hosts.Where(h => h.Kind != HostKind.HaProxy || workload == Workload.HalfClose).ToList();
            var results = driven.ToDictionary(h => h.Kind, h => new Measurement(h.Kind, workload));
            measurements.AddRange(results.Values);
            foreach (var host in driven.TakeWhile(_ => !interrupted.IsCancellationRequested))
            {
                await warmup.RunAsync(workload, host.Port);
            }

            for (var round = 1; round <= options.Rounds && !interrupted.IsCancellationRequested; round++)
            {
                // A B then B A: the host that goes second in a round meets what the first left behind (a conn-per-request
                // round leaves tens of thousands of the client's ports in TIME-WAIT); alternating cancels that out.
                var order = round % 2 == 1 ? driven : Enumerable.Reverse(driven);
                Console.Write($"{Workloads.Name(workload),-16} round {round}/{options.Rounds}:");
                foreach (var host in order.TakeWhile(_ => !interrupted.IsCancellationRequested))
                {
                    var peakReset = ProcMemory.TryResetPeak(host.Pid);
                    var (tallies, elapsed) = await client.RunAsync(workload, host.Port);
                    var result = RoundResult.From(tallies, elapsed, ProcMemory.PeakBytes(host.Pid));
                    results[host.Kind].Add(result);
                    Console.Write($"  {host.Name} {result.RequestsPerSecond:0}/s{(peakReset ? "" : " (peak not reset)")}");
                }

                Console.WriteLine();
            }
        }

        return measurements;
    }

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
