using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Sockets;
using HalfClose.Kestrel.Internal;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit.Abstractions;

namespace HalfClose.Kestrel.Tests.Reliability;

/// <summary>
/// Clients that go away badly while their response is being written: FIN then reset, and FIN then never reading.
/// The server ends each connection, raises nothing unobserved, logs no error, and serves the next client.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait(ReliabilitySuite.Category, ReliabilitySuite.Trait)]
public sealed class AbortiveClientTests(ITestOutputHelper output)
{
    private const int Seed = 6_0002;

    /// <summary>16 MiB in 16 KiB chunks with a pause after each: still being written seconds after the client is gone.</summary>
    private const string SlowLargeResponse = "/stream?size=16777216&chunk=16384&ms=1";

    private static MetricCollector<long> Collect(TestServers servers, string instrument) =>
        new(servers.PolicyServices.GetRequiredService<IMeterFactory>(), Reliable.LibraryCategory, instrument);

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task FinThenResetWhileResponseIsWritten_1000Times_NoUnobservedExceptionNoErrorLog_NextClientAnswered(Front front)
    {
        const int Clients = 1000;
        using var unobserved = UnobservedExceptions.Watch();
        await using var servers = await TestServers.StartAsync(front);
        using var halfOpen = Collect(servers, "halfclose.active_half_open_connections");
        using var fins = Collect(servers, "halfclose.client_fins");
        var random = new Random(Seed);
        var readFirst = new List<string>();
        var resetAtOnce = new List<string>();
        var clock = Stopwatch.StartNew();

        for (var i = 0; i < Clients; i++)
        {
            var id = $"reset-{i}";

            // Mostly: read a little of the response (1 byte to 64 KiB), then reset. One in ten: reset right after the FIN.
            var readBeforeReset = random.Next(10) == 0 ? 0 : random.Next(1, 64 * 1024);
            await using var client = await RawHttpClient.ConnectAsync(servers.Port);
            await client.SendAsync(Reliable.Get($"{SlowLargeResponse}&id={id}"));
            client.HalfClose();
            if (readBeforeReset > 0)
            {
                await ReadAtLeastAsync(client.Socket, readBeforeReset);
                readFirst.Add(id);
            }
            else
            {
                resetAtOnce.Add(id);
            }

            client.Reset();
        }

        var clientsTime = clock.Elapsed;

        // Every handler whose response was being read sees RequestAborted; then no server socket is left.
        await Task.WhenAll(readFirst.Select(servers.Probe.Aborted)).WaitAsync(TimeSpan.FromSeconds(30));
        var connectionsLeft = await Reliable.WaitForNoConnectionsAsync(servers.Port, Reliable.Bound);
        var startedNotAborted = resetAtOnce.Where(id => servers.Probe.Started(id).IsCompleted).ToArray();
        await Task.WhenAll(startedNotAborted.Select(servers.Probe.Aborted)).WaitAsync(Reliable.Bound);
        var allEnded = clock.Elapsed;
        var next = await Reliable.HalfClosedGetAsync(servers.Port);
        await WaitForHalfOpenSumAsync(halfOpen, 0);
        var exceptions = unobserved.Collect();
        var errors = Reliable.Errors(servers.Logs);

        output.WriteLine(
            $"{front}: {Clients} clients FIN then RST in {clientsTime.TotalSeconds:0.0} s ({readFirst.Count} after reading 1 B..64 KiB, " +
            $"{resetAtOnce.Count} at once, {startedNotAborted.Length} of which had reached the handler); all handlers aborted " +
            $"and server sockets gone after {allEnded.TotalSeconds:0.0} s; sockets left: {connectionsLeft}");
        output.WriteLine(
            $"{front}: client FINs counted: {string.Join(", ", fins.GetMeasurementSnapshot().GroupBy(m => m.Tags["halfclose.outcome"]).Select(g => $"{g.Key}={g.Sum(m => m.Value)}"))}; " +
            $"half-open gauge sum: {halfOpen.GetMeasurementSnapshot().Sum(m => m.Value)}");
        output.WriteLine($"{front}: unobserved task exceptions: {exceptions.Count}; Error+ log entries: {errors.Count}; next client: {next.Ending}, {string.Join(",", next.StatusCodes)}");

        Assert.Equal(0, connectionsLeft);
        Assert.Equal(0, halfOpen.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.True(exceptions.Count == 0, Reliable.Describe(exceptions));
        Assert.True(errors.Count == 0, Reliable.Describe(errors));
        Assert.True(Reliable.IsAnswered(next), next.ToString());
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task SlowReadersAfterFin_ResponseLargerThanSocketBuffers_EachClosedAtHalfOpenTimeout_GaugeBackToZero(Front front)
    {
        const int Clients = 20;
        var halfOpenTimeout = TimeSpan.FromSeconds(1);
        using var unobserved = UnobservedExceptions.Watch();
        await using var servers = await TestServers.StartAsync(front, new Dictionary<string, string?> { ["HalfOpenTimeout"] = "00:00:01" });
        using var halfOpen = Collect(servers, "halfclose.active_half_open_connections");

        // 16 MiB in 64 KiB chunks, 1 ms apart: more than the kernel buffers on both sides (4 MiB send, 128 KiB receive unread).
        // The pause keeps a handler writing for a while after an abort (writes after an abort complete at once), so that it
        // sees RequestAborted fire rather than finishing first.
        var clients = await Task.WhenAll(Enumerable.Range(0, Clients).Select(i => SlowReaderAsync(servers, $"slow-reader-{i}")));
        try
        {
            var closedAfter = await Task.WhenAll(clients.Select(c => WaitForResetAsync(c.Client.Socket, c.FinAt, TimeSpan.FromSeconds(10))));
            await Task.WhenAll(clients.Select(c => servers.Probe.Aborted(c.Id))).WaitAsync(Reliable.Bound);
            await WaitForHalfOpenSumAsync(halfOpen, 0);
            var connectionsLeft = await Reliable.WaitForNoConnectionsAsync(servers.Port, Reliable.Bound);
            var halfOpenMeasurements = halfOpen.GetMeasurementSnapshot();
            var timedOut = servers.Logs.GetSnapshot().Count(log => log.Id.Name == "HalfOpenTimedOut");
            var exceptions = unobserved.Collect();

            output.WriteLine(
                $"{front}: {Clients} clients FIN and never read a 16 MiB response; closed (RST) after FIN in " +
                $"{closedAfter.Min().TotalMilliseconds:0}..{closedAfter.Max().TotalMilliseconds:0} ms (HalfOpenTimeout {halfOpenTimeout.TotalMilliseconds:0} ms, bound 900..3000 ms)");
            output.WriteLine(
                $"{front}: half-open gauge +{halfOpenMeasurements.Where(m => m.Value > 0).Sum(m => m.Value)} " +
                $"{halfOpenMeasurements.Where(m => m.Value < 0).Sum(m => m.Value)} = {halfOpenMeasurements.Sum(m => m.Value)}; " +
                $"HalfOpenTimedOut logged {timedOut}; server sockets left {connectionsLeft}; unobserved exceptions {exceptions.Count}");

            Assert.All(closedAfter, after => Assert.InRange(after, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(3)));
            Assert.Equal(Clients, halfOpenMeasurements.Count(m => m.Value == 1));
            Assert.Equal(0, halfOpenMeasurements.Sum(m => m.Value));
            Assert.Equal(Clients, timedOut);
            Assert.Equal(0, connectionsLeft);
            Assert.True(exceptions.Count == 0, Reliable.Describe(exceptions));
            Assert.Empty(Reliable.Errors(servers.Logs, Reliable.LibraryCategory));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.Client.DisposeAsync();
            }
        }
    }

    [Theory]
    [InlineData("Drain")]
    [InlineData("Reject")]
    [InlineData("Off")]
    public async Task FinThenResetWhileResponseIsWritten_CountedAsResetAndLoggedResetWhileHalfOpen(string linger)
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel, new Dictionary<string, string?> { ["Linger"] = linger });
        using var fins = Collect(servers, "halfclose.client_fins");
        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(Reliable.Get($"{SlowLargeResponse}&id=a"));
        client.HalfClose();
        await ReadAtLeastAsync(client.Socket, 1000);

        client.Reset();
        await servers.Probe.Aborted("a").WaitAsync(Reliable.Bound);
        await fins.WaitForMeasurementsAsync(1, Reliable.Bound);

        // The client reset a half-open connection and the request was aborted: README's "reset" outcome and event 5.
        Assert.Equal("reset", Assert.Single(fins.GetMeasurementSnapshot()).Tags["halfclose.outcome"]);
        var logs = servers.Logs.GetSnapshot();
        Assert.Contains(logs, log => log.Id.Name == "ResetWhileHalfOpen");
        Assert.DoesNotContain(logs, log => log.Id.Name == "ServedAfterFin");
    }

    private static async Task<(RawHttpClient Client, string Id, long FinAt)> SlowReaderAsync(TestServers servers, string id)
    {
        var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(Reliable.Get($"/stream?size=16777216&chunk=65536&ms=1&id={id}"));
        await servers.Probe.Started(id).WaitAsync(Reliable.Bound);
        client.HalfClose();
        return (client, id, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// How long after the FIN the server's RST arrived. The client reads nothing, so the socket's TCP state tells it:
    /// FIN-WAIT-2 while the server holds the connection, CLOSE once the reset came. Polled: there is no event to await.
    /// </summary>
    private static async Task<TimeSpan> WaitForResetAsync(Socket socket, long finAt, TimeSpan timeout)
    {
        while (true)
        {
            var state = ClientTcpState.Read(socket);
            var elapsed = Stopwatch.GetElapsedTime(finAt);
            if (state == TcpState.Close)
            {
                return elapsed;
            }

            if (elapsed > timeout)
            {
                throw new TimeoutException($"The client's socket is still {state} {elapsed.TotalSeconds:0.0} s after its FIN.");
            }

            await Task.Delay(10);
        }
    }

    private static async Task ReadAtLeastAsync(Socket socket, int count)
    {
        var buffer = new byte[Math.Min(count, 64 * 1024)];
        using var timeout = new CancellationTokenSource(Reliable.Bound);
        for (var total = 0; total < count;)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(0, Math.Min(buffer.Length, count - total)), SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                throw new InvalidOperationException($"The server ended the response after {total} bytes.");
            }

            total += read;
        }
    }

    /// <summary>The gauge's -1 is recorded just after the connection is closed: waits for it, within the bound.</summary>
    private static Task<bool> WaitForHalfOpenSumAsync(MetricCollector<long> halfOpen, long expected) =>
        Reliable.WaitUntilAsync(() => halfOpen.GetMeasurementSnapshot().Sum(m => m.Value) == expected, Reliable.Bound);
}
