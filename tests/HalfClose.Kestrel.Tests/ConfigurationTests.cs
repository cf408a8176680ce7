using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace HalfClose.Kestrel.Tests;

/// <summary>The HalfClose section: validated at start with the key named; re-read for new connections; bad changes rejected.</summary>
public sealed class ConfigurationTests
{
    private static string SlowGet(string id, int ms = 200) => $"GET /slow?ms={ms}&id={id} HTTP/1.1\r\nHost: test\r\n\r\n";

    [Theory]
    [InlineData("ClientFin", "Bogus", "HalfClose:ClientFin")]
    [InlineData("TlsClientFin", "Sometimes", "HalfClose:TlsClientFin")]
    [InlineData("PipelinedRequests", "7", "HalfClose:PipelinedRequests")]
    [InlineData("HalfOpenTimeout", "-00:00:01", "HalfClose:HalfOpenTimeout")]
    [InlineData("HalfOpenTimeout", "00:00:00", "HalfClose:HalfOpenTimeout")]
    [InlineData("HalfOpenTimeout", "2.00:00:00", "HalfClose:HalfOpenTimeout")]
    [InlineData("HalfOpenTimeout", "soon", "HalfClose:HalfOpenTimeout")]
    [InlineData("ClientFinn", "Serve", "ClientFinn", "not found")]
    public async Task InvalidValue_StartFails_MessageNamesKeyAndValue(string key, string value, string expectedKey, string? expectedText = null)
    {
        var config = new Dictionary<string, string?> { [key] = value };

        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestServers.StartOriginAsync(new Probe(), config, withPolicy: true));

        Assert.True(error is InvalidOperationException or OptionsValidationException, error.ToString());
        Assert.Contains(expectedKey, error.Message, StringComparison.Ordinal);
        Assert.Contains(expectedText ?? $"'{value}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidChange_AppliesToNewConnections()
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel, new Dictionary<string, string?> { ["ClientFin"] = "Serve" });
        var before = await RawHttpClient.SendAndHalfCloseAsync(servers.Port, SlowGet("a"));

        servers.PolicyConfiguration["HalfClose:ClientFin"] = "Abort";
        ((IConfigurationRoot)servers.PolicyConfiguration).Reload();
        var after = await HalfClosing.SlowGetThenFinAsync(servers.Port, servers.Probe, "b", ms: 5000);

        Assert.Equal([200], before.StatusCodes);
        Assert.Empty(after.Bytes);
        Assert.Contains(servers.Logs.GetSnapshot(), log => log.Id.Name == "PolicyReloaded");
    }

    [Fact]
    public async Task InvalidChange_RejectedWithWarning_LastGoodPolicyStays()
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel, new Dictionary<string, string?> { ["ClientFin"] = "Serve" });

        servers.PolicyConfiguration["HalfClose:ClientFin"] = "Bogus";
        ((IConfigurationRoot)servers.PolicyConfiguration).Reload();
        var after = await HalfClosing.SlowGetThenFinAsync(servers.Port, servers.Probe, "a", ms: 200);

        Assert.Equal([200], after.StatusCodes);
        var rejected = Assert.Single(servers.Logs.GetSnapshot(), log => log.Id.Name == "PolicyChangeRejected");
        Assert.Contains("HalfClose:ClientFin", rejected.Message, StringComparison.Ordinal);
    }
}
