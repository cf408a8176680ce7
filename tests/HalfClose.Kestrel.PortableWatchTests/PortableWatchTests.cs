using HalfClose.Kestrel.Tests.Infrastructure;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// This build's own checks: the portable watch is what runs, and it tells a reset after the FIN long before the half-open
/// timeout (30 s) would end the wait.
/// </summary>
public sealed class PortableWatchTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    // The watch looks every 200 ms: 100 to 260 ms here, but once 1 043 ms on a loaded two-core CI run. Ten times under the
    // half-open timeout, which ends the wait without the watch.
    private static readonly TimeSpan WatchBound = TimeSpan.FromSeconds(3);

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task PortableWatch_InForce_ResetAfterFinAbortsTheHandlerLongBeforeTheTimeout(Front front)
    {
        await using var servers = await TestServers.StartAsync(front);
        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(HttpText.Get("/hang?id=a"));
        await servers.Probe.Started("a").WaitAsync(Bound);
        client.HalfClose();
        var stillOpen = await client.ReadToEndAsync(TimeSpan.FromMilliseconds(300));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        client.Reset();
        await servers.Probe.Aborted("a").WaitAsync(Bound);

        Assert.Equal(Ending.StillOpen, stillOpen.Ending);
        Assert.True(clock.Elapsed < WatchBound, $"aborted after {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Contains(servers.Logs.GetSnapshot(), log => log.Id.Name == "MechanismInForce" && log.Message.Contains("Peek", StringComparison.Ordinal));
    }
}
