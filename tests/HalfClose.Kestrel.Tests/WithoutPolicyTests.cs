using HalfClose.Kestrel.Tests.Infrastructure;

namespace HalfClose.Kestrel.Tests;

/// <summary>The problem, measured on plain Kestrel: a client that half-closes after its request gets nothing.</summary>
public sealed class WithoutPolicyTests
{
    [Fact]
    public async Task PlainKestrel_SlowGetThenFin_ZeroBytes()
    {
        var probe = new Probe();
        var app = await TestServers.StartOriginAsync(probe, null, withPolicy: false);
        await using var _ = app;
        await using var client = await RawHttpClient.ConnectAsync(TestServers.PortOf(app.Urls.First()));
        await client.SendAsync("GET /hang?id=a HTTP/1.1\r\nHost: test\r\n\r\n");
        await probe.Started("a").WaitAsync(TimeSpan.FromSeconds(10));

        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.Empty(result.Bytes);
        Assert.NotEqual(Ending.StillOpen, result.Ending);
        await probe.Aborted("a").WaitAsync(TimeSpan.FromSeconds(10));
    }
}
