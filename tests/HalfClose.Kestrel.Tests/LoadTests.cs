using HalfClose.Kestrel.Tests.Infrastructure;

namespace HalfClose.Kestrel.Tests;

/// <summary>Many half-closed clients at once: every one answered, no server socket left half-closed.</summary>
public sealed class LoadTests
{
    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task TwoHundredConcurrentHalfClosedClients_AllAnswered_NoCloseWaitLeft(Front front)
    {
        const int Clients = 200;
        await using var servers = await TestServers.StartAsync(front);

        var results = await Task.WhenAll(Enumerable.Range(0, Clients).Select(i =>
            RawHttpClient.SendAndHalfCloseAsync(servers.Port, $"GET /slow?ms=20&id={i} HTTP/1.1\r\nHost: test\r\n\r\n", TimeSpan.FromSeconds(30))));

        Assert.All(results, result =>
        {
            Assert.Equal(Ending.Fin, result.Ending);
            Assert.Equal([200], result.StatusCodes);
        });
        Assert.Equal(Clients, results.Select(r => r.Text).Distinct().Count(text => text.Contains(" done", StringComparison.Ordinal)));
        Assert.Equal(0, TcpTable.Count(servers.Port, TcpTable.CloseWait));
    }
}
