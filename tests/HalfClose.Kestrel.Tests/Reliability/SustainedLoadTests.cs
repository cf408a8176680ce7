using System.Diagnostics;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Testing;
using Xunit.Abstractions;

namespace HalfClose.Kestrel.Tests.Reliability;

/// <summary>
/// Many half-closed requests, one after another and all at once: every one answered, and the server gives back what
/// it took (no socket left half-closed, handle count and managed memory back where they were after a warm-up).
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait(ReliabilitySuite.Category, ReliabilitySuite.Trait)]
public sealed class SustainedLoadTests(ITestOutputHelper output)
{
    private const int Sequential = 10_000;
    private const int Concurrent = 200;
    private const int WarmUpSequential = 500;

    /// <summary>
    /// Concurrent bursts in the warm-up. YARP's pool of connections to the origin grows to the most requests a burst had in
    /// flight at once, which varies (60 to 200 seen): three bursts bring it close to its size after the measured burst.
    /// </summary>
    private const int WarmUpBursts = 3;

    /// <summary>How many requests run between two looks at the logs (then cleared).</summary>
    private const int LogBatch = 250;

    /// <summary>
    /// Handles allowed above the warm-up figure: a few for whatever the runtime opens lazily (timers, a thread's
    /// epoll), far below one per 500 requests, which is what a leak of one socket per request in a thousand would show.
    /// </summary>
    private const int HandleMargin = 20;

    /// <summary>
    /// Managed bytes allowed above the warm-up figure (after a full collection): 10 200 connections leaking 200 bytes each
    /// would pass it. Seen: +0.05 to +0.7 MiB (pools topping up); a retained connection (its pipes, timers, token sources)
    /// is kilobytes.
    /// </summary>
    private const long MemoryMargin = 2L * 1024 * 1024;

    /// <summary>
    /// Allowed on top for each connection YARP's pool holds beyond its warm-up size (both ends live in this process;
    /// about 18 KiB each measured): the pool is the proxy's, not the policy's, and its size varies with the burst.
    /// </summary>
    private const long MemoryPerPooledConnection = 32 * 1024;

    /// <summary>
    /// Allowed on top for each thread the pool has beyond its warm-up count: every thread keeps its own small cache of
    /// ArrayPool arrays (16 KiB and 64 KiB buffers here; measured with a heap dump, about 90 KiB per thread). After the
    /// rest of the test project the pool has many more threads and a burst can add some.
    /// </summary>
    private const long MemoryPerThread = 128 * 1024;

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task TenThousandSequentialAndTwoHundredConcurrentHalfClosedGets_AllAnswered_NothingLeftOrLeaked(Front front)
    {
        using var unobserved = UnobservedExceptions.Watch();
        await using var servers = await TestServers.StartAsync(front);

        // The warm-up has the shape of the run: the pools (Kestrel's memory, YARP's connections to the origin) grow to it.
        var warmUp = await RunAsync(servers, WarmUpSequential, Concurrent, WarmUpBursts);
        Assert.True(warmUp.Answered == WarmUpSequential + WarmUpBursts * Concurrent, warmUp.Describe());
        Assert.Equal(0, await TcpTable.WaitForNoHalfClosedAsync(servers.Port, Reliable.Bound));
        Assert.True(warmUp.Errors.Count == 0, Reliable.Describe(warmUp.Errors));
        var pooledBefore = PooledOriginConnections(servers);
        var handlesBefore = ProcessResources.OpenHandles() - 2 * pooledBefore;
        var memoryBefore = ProcessResources.ManagedMemory();
        var threadsBefore = ThreadPool.ThreadCount;

        var run = await RunAsync(servers, Sequential, Concurrent, bursts: 1);

        var halfClosedLeft = await TcpTable.WaitForNoHalfClosedAsync(servers.Port, Reliable.Bound);
        var connectionsLeft = await Reliable.WaitForNoConnectionsAsync(servers.Port, Reliable.Bound);
        var errors = run.Errors.Concat(TakeErrors(servers)).ToArray();
        var pooledAfter = PooledOriginConnections(servers);
        var handlesAfter = await ProcessResources.WaitForHandlesAtMostAsync(handlesBefore + 2 * pooledAfter + HandleMargin, Reliable.Bound) - 2 * pooledAfter;
        var memoryAfter = ProcessResources.ManagedMemory();
        var threadsAfter = ThreadPool.ThreadCount;
        var memoryAllowed = MemoryMargin
            + Math.Max(0, pooledAfter - pooledBefore) * MemoryPerPooledConnection
            + Math.Max(0, threadsAfter - threadsBefore) * MemoryPerThread;
        output.WriteLine(
            $"{front}: {run.Answered}/{Sequential + Concurrent} answered (200, FIN); {Sequential} sequential in {run.SequentialTime.TotalSeconds:0.0} s " +
            $"({Sequential / run.SequentialTime.TotalSeconds:0}/s), {Concurrent} concurrent in {run.ConcurrentTime.TotalSeconds:0.00} s");
        output.WriteLine($"{front}: server sockets left half-closed (CLOSE-WAIT, FIN-WAIT-1/2): {halfClosedLeft}; in any state: {connectionsLeft}");
        output.WriteLine(
            $"{front}: handles {handlesBefore} -> {handlesAfter} ({handlesAfter - handlesBefore:+0;-0}, margin +{HandleMargin})" +
            (front == Front.Yarp ? $", not counting the proxy's pooled connections to the origin (2 handles each): {pooledBefore} -> {pooledAfter}" : ""));
        output.WriteLine(
            $"{front}: managed memory {memoryBefore / 1024.0:0} KiB -> {memoryAfter / 1024.0:0} KiB " +
            $"({(memoryAfter - memoryBefore) / 1024.0:+0;-0} KiB, margin +{memoryAllowed / 1024} KiB: {MemoryMargin / 1024} KiB, " +
            $"pool threads {threadsBefore} -> {threadsAfter}{(front == Front.Yarp ? $", pooled origin connections {pooledBefore} -> {pooledAfter}" : "")})");

        Assert.True(run.Answered == Sequential + Concurrent, run.Describe());
        Assert.Equal(0, halfClosedLeft);
        Assert.Equal(0, connectionsLeft);
        Assert.True(errors.Length == 0, Reliable.Describe(errors));
        Assert.InRange(handlesAfter, 0, handlesBefore + HandleMargin);
        Assert.InRange(memoryAfter, 0, memoryBefore + memoryAllowed);
        var exceptions = unobserved.Collect();
        Assert.True(exceptions.Count == 0, Reliable.Describe(exceptions));
    }

    /// <summary>
    /// The proxy's idle connections to the origin (both ends are in this process): YARP's pool grows to the concurrency it
    /// has seen, which differs from burst to burst, so the handle figures leave them out. None when Kestrel is the front.
    /// </summary>
    private static int PooledOriginConnections(TestServers servers) =>
        servers.OriginPort == servers.Port ? 0 : TcpTable.Count(servers.OriginPort, TcpTable.Established);

    /// <summary>
    /// The errors logged so far (by the front and by the origin), then the logs cleared: the fake collectors keep every
    /// record, and their lists keep the capacity they grew to. Taken every <see cref="LogBatch"/> requests, so that the
    /// collectors hold no more than during the warm-up and the memory figures are the servers' own.
    /// </summary>
    private static FakeLogRecord[] TakeErrors(TestServers servers)
    {
        var errors = Reliable.Errors(servers.Logs).Concat(servers.OriginPort == servers.Port ? [] : Reliable.Errors(servers.OriginLogs)).ToArray();
        servers.Logs.Clear();
        servers.OriginLogs.Clear();
        return errors;
    }

    private static async Task<Run> RunAsync(TestServers servers, int sequential, int concurrent, int bursts)
    {
        var port = servers.Port;
        var errors = new List<FakeLogRecord>();
        var failures = new List<string>();
        var answered = 0;
        void Count(RawResult result)
        {
            if (Reliable.IsAnswered(result))
            {
                answered++;
            }
            else if (failures.Count < 5)
            {
                failures.Add(result.ToString());
            }
        }

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < sequential; i++)
        {
            Count(await Reliable.HalfClosedGetAsync(port));
            if (i % LogBatch == LogBatch - 1)
            {
                errors.AddRange(TakeErrors(servers));
            }
        }

        var sequentialTime = clock.Elapsed;
        clock.Restart();
        for (var burst = 0; burst < bursts; burst++)
        {
            foreach (var result in await Task.WhenAll(Enumerable.Range(0, concurrent).Select(_ => Reliable.HalfClosedGetAsync(port))))
            {
                Count(result);
            }
        }

        var concurrentTime = clock.Elapsed;
        errors.AddRange(TakeErrors(servers));
        return new Run(answered, failures, errors, sequentialTime, concurrentTime);
    }

    private sealed record Run(
        int Answered, IReadOnlyList<string> Failures, IReadOnlyList<FakeLogRecord> Errors, TimeSpan SequentialTime, TimeSpan ConcurrentTime)
    {
        public string Describe() => $"{Answered} answered; first failures:{Environment.NewLine}{string.Join(Environment.NewLine, Failures)}";
    }
}
