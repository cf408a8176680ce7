using System.Diagnostics;
using System.Diagnostics.Metrics;
using HalfClose.Kestrel.Internal;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit.Abstractions;

namespace HalfClose.Kestrel.Tests.Reliability;

/// <summary>
/// The host stops while half-closed connections are in flight: StopAsync keeps to the shutdown timeout, every connection
/// is finished or cut, every handler sees RequestAborted, and nothing is left unobserved.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait(ReliabilitySuite.Category, ReliabilitySuite.Trait)]
public sealed class ShutdownTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Kestrel waits up to a further second for connections it aborted at the timeout; one more for a loaded machine.</summary>
    private static readonly TimeSpan StopMargin = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task StopAsync_HalfOpenRequestsInFlight_StopsWithinShutdownTimeout_HandlersAborted_ConnectionsEnded(Front front)
    {
        const int EachKind = 8;
        using var unobserved = UnobservedExceptions.Watch();
        await using var servers = await TestServers.StartAsync(front, shutdownTimeout: ShutdownTimeout);
        using var halfOpen = new MetricCollector<long>(
            servers.PolicyServices.GetRequiredService<IMeterFactory>(), Reliable.LibraryCategory, "halfclose.active_half_open_connections");

        // Three kinds that outlive the shutdown timeout, each half-closed once its handler runs: never ending, slow, and a
        // large response nobody reads; and, set up last, requests that end within it (1 s), which a graceful stop serves.
        var targets = Enumerable.Range(0, EachKind).SelectMany(i => new[]
        {
            (Id: $"hang-{i}", Target: $"/hang?id=hang-{i}", Reads: true),
            (Id: $"slow-{i}", Target: $"/slow?ms=60000&id=slow-{i}", Reads: true),
            (Id: $"unread-{i}", Target: $"/stream?size=16777216&chunk=65536&ms=1&id=unread-{i}", Reads: false),
        }).Concat(Enumerable.Range(0, EachKind).Select(i => (Id: $"ends-{i}", Target: $"/slow?ms=1000&id=ends-{i}", Reads: true))).ToArray();
        var cut = targets.Where(t => !t.Id.StartsWith("ends-", StringComparison.Ordinal)).ToArray();
        var clients = new List<(string Id, RawHttpClient Client, bool Reads)>();
        try
        {
            foreach (var (id, target, reads) in targets)
            {
                var client = await RawHttpClient.ConnectAsync(servers.Port);
                clients.Add((id, client, reads));
                await client.SendAsync(Reliable.Get(target));
                await servers.Probe.Started(id).WaitAsync(Reliable.Bound);
                client.HalfClose();
            }

            await halfOpen.WaitForMeasurementsAsync(targets.Length, Reliable.Bound);
            var reading = clients.Where(c => c.Reads).Select(async c => (c.Id, Result: await c.Client.ReadToEndAsync(TimeSpan.FromSeconds(15)))).ToArray();

            var clock = Stopwatch.StartNew();
            await servers.StopFrontAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var stopTime = clock.Elapsed;

            var all = await Task.WhenAll(reading);
            var results = all.Where(r => !r.Id.StartsWith("ends-", StringComparison.Ordinal)).Select(r => r.Result).ToArray();
            var served = all.Where(r => r.Id.StartsWith("ends-", StringComparison.Ordinal)).Select(r => r.Result).ToArray();
            var nonReading = clients.Where(c => !c.Reads).Select(c => c.Client.Socket).ToArray();
            await Reliable.WaitUntilAsync(() => nonReading.All(socket => ClientTcpState.Read(socket) == TcpState.Close), Reliable.Bound);
            var unread = nonReading.Select(ClientTcpState.Read).ToArray();
            await Task.WhenAll(cut.Select(t => servers.Probe.Aborted(t.Id))).WaitAsync(Reliable.Bound);
            var connectionsLeft = await Reliable.WaitForNoConnectionsAsync(servers.Port, Reliable.Bound);
            var halfOpenSum = halfOpen.GetMeasurementSnapshot().Sum(m => m.Value);
            var exceptions = unobserved.Collect();
            var errors = Reliable.Errors(servers.Logs, Reliable.LibraryCategory);

            output.WriteLine(
                $"{front}: StopAsync with {targets.Length} half-open requests in flight ({cut.Length} outliving the timeout) took {stopTime.TotalMilliseconds:0} ms " +
                $"(shutdown timeout {ShutdownTimeout.TotalMilliseconds:0} ms, bound {(ShutdownTimeout + StopMargin).TotalMilliseconds:0} ms)");
            output.WriteLine(
                $"{front}: requests ending within the timeout: {string.Join(", ", served.GroupBy(r => (r.Ending, Statuses: string.Join(",", r.StatusCodes))).Select(g => $"{g.Key.Ending} [{g.Key.Statuses}] {g.Count()}"))} after {string.Join("/", served.Select(r => r.Elapsed.TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))} ms; " +
                $"reading clients cut: ended {string.Join(", ", results.GroupBy(r => r.Ending).Select(g => $"{g.Key} {g.Count()}"))} " +
                $"with statuses [{string.Join(",", results.SelectMany(r => r.StatusCodes).Distinct())}]; " +
                $"non-reading clients' sockets {string.Join(", ", unread.GroupBy(s => s).Select(g => $"{g.Key} {g.Count()}"))}");
            output.WriteLine(
                $"{front}: handlers aborted {cut.Count(t => servers.Probe.WasAborted(t.Id))}/{cut.Length} (and {targets.Except(cut).Count(t => servers.Probe.WasAborted(t.Id))} of the served); server sockets left {connectionsLeft}; " +
                $"half-open gauge sum {halfOpenSum}; unobserved exceptions {exceptions.Count}; HalfClose.Kestrel errors {errors.Count}");

            Assert.InRange(stopTime, TimeSpan.Zero, ShutdownTimeout + StopMargin);
            Assert.All(served, r => Assert.True(Reliable.IsAnswered(r) || (r.Ending == Ending.Fin && r.StatusCodes is [200]), r.ToString()));
            Assert.All(results, r => Assert.NotEqual(Ending.StillOpen, r.Ending));
            Assert.All(results, r => Assert.DoesNotContain(200, r.StatusCodes));
            Assert.All(unread, state => Assert.Equal(TcpState.Close, state));
            Assert.Equal(0, connectionsLeft);
            Assert.Equal(0, halfOpenSum);
            Assert.True(exceptions.Count == 0, Reliable.Describe(exceptions));
            Assert.True(errors.Count == 0, Reliable.Describe(errors));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.Client.DisposeAsync();
            }
        }
    }
}
