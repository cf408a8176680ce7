using HalfClose.Kestrel.Tests.Infrastructure;

namespace HalfClose.Kestrel.Tests;

/// <summary>This build's own checks: the portable watch is what runs, and it tells a reset after the FIN within a second.</summary>
public sealed class PortableWatchTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task PortableWatch_InForce_ResetAfterFinAbortsTheHandlerWithinASecond(Front front)
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
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"aborted after {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Contains(servers.Logs.GetSnapshot(), log => log.Id.Name == "MechanismInForce" && log.Message.Contains("Peek", StringComparison.Ordinal));
    }
}
