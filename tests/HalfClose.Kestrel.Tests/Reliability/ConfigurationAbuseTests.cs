using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace HalfClose.Kestrel.Tests.Reliability;

/// <summary>
/// Invalid HalfClose values, at start and live, beyond what ConfigurationTests covers: the linger keys, empty values,
/// modes written as lists, keys below a value. Start fails naming the key and the value; a live change is rejected
/// with PolicyChangeRejected and the last good policy stays in force.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait(ReliabilitySuite.Category, ReliabilitySuite.Trait)]
public sealed class ConfigurationAbuseTests(ITestOutputHelper output)
{
    private const long FiftyMegabytes = 50L * 1024 * 1024;

    [Theory]
    [InlineData("Linger", "Sometimes", "HalfClose:Linger", "'Sometimes'")]
    [InlineData("Linger", "3", "HalfClose:Linger", "'3'")]
    [InlineData("LingerTime", "00:00:00", "HalfClose:LingerTime", "'00:00:00'")]
    [InlineData("LingerTime", "-00:00:01", "HalfClose:LingerTime", "'-00:00:01'")]
    [InlineData("LingerTime", "2.00:00:00", "HalfClose:LingerTime", "'2.00:00:00'")]
    [InlineData("LingerTime", "soon", "HalfClose:LingerTime", "'soon'")]
    [InlineData("LingerTimeout", "00:00:00", "HalfClose:LingerTimeout", "'00:00:00'")]
    [InlineData("LingerTimeout", "-00:00:05", "HalfClose:LingerTimeout", "'-00:00:05'")]
    [InlineData("LingerTimeout", "later", "HalfClose:LingerTimeout", "'later'")]
    [InlineData("LingerMaxBytes", "0", "HalfClose:LingerMaxBytes", "'0'")]
    [InlineData("LingerMaxBytes", "-1", "HalfClose:LingerMaxBytes", "'-1'")]
    [InlineData("LingerMaxBytes", "lots", "HalfClose:LingerMaxBytes", "'lots'")]
    [InlineData("LingerMaxBytes", "1.5", "HalfClose:LingerMaxBytes", "'1.5'")]
    [InlineData("LingerMaxBytes", "99999999999999999999", "HalfClose:LingerMaxBytes", "'99999999999999999999'")]
    [InlineData("ClientFin", "", "HalfClose:ClientFin", "''")]
    [InlineData("HalfOpenTimeout", "", "HalfClose:HalfOpenTimeout", "''")]
    [InlineData("Linger:Mode", "Drain", "Mode", "not found")]
    public async Task InvalidLingerOrEmptyValue_StartFails_MessageNamesKeyAndValue(string key, string value, string expectedKey, string expectedText)
    {
        var error = await StartFailsAsync(new Dictionary<string, string?> { [key] = value });

        Assert.Contains(expectedKey, error.Message, StringComparison.Ordinal);
        Assert.Contains(expectedText, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LingerTimeoutGreaterThanLingerTime_StartFails_MessageNamesLingerTimeoutAndItsBound()
    {
        var error = await StartFailsAsync(new Dictionary<string, string?> { ["LingerTime"] = "00:00:05", ["LingerTimeout"] = "00:00:10" });

        Assert.Contains("HalfClose:LingerTimeout", error.Message, StringComparison.Ordinal);
        Assert.Contains("'00:00:10'", error.Message, StringComparison.Ordinal);
        Assert.Contains("00:00:05", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ClientFin", "Serve,Abort")]
    [InlineData("Linger", "Drain, Reject")]
    [InlineData("PipelinedRequests", "Serve,Discard")]
    public async Task ListOfModes_StartFails_MessageNamesKeyAndValue(string key, string value)
    {
        var error = await StartFailsAsync(new Dictionary<string, string?> { [key] = value });

        Assert.Contains($"HalfClose:{key}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Linger is Reject; a change to Drain comes with an invalid value (or Linger itself is invalid): the whole change is
    /// rejected and an upload the server answers early is still reset. A valid change to Drain then takes effect.
    /// </summary>
    [Theory]
    [InlineData("Linger", "Sometimes", null)]
    [InlineData("LingerMaxBytes", "0", null)]
    [InlineData("LingerMaxBytes", "lots", null)]
    [InlineData("LingerTimeout", "00:01:00", "00:00:05")]
    [InlineData("LingerTime", "00:00:00", "00:00:30")]
    public async Task InvalidLiveLingerChange_RejectedWithWarningNamingKey_LastGoodLingerStays(string key, string invalid, string? valid)
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel, new Dictionary<string, string?> { ["Linger"] = "Reject" });
        var configuration = (IConfigurationRoot)servers.PolicyConfiguration;
        var before = await RawUpload.RunAsync(servers.Port, FiftyMegabytes, finAfterSend: true);

        configuration[$"HalfClose:{key}"] = invalid;
        if (key != "Linger")
        {
            configuration["HalfClose:Linger"] = "Drain";
        }

        configuration.Reload();
        var rejected = Assert.Single(servers.Logs.GetSnapshot(), log => log.Id.Name == "PolicyChangeRejected");
        var during = await RawUpload.RunAsync(servers.Port, FiftyMegabytes, finAfterSend: true);

        configuration[$"HalfClose:{key}"] = key == "Linger" ? "Drain" : valid;
        configuration.Reload();
        var after = await RawUpload.RunAsync(servers.Port, FiftyMegabytes, finAfterSend: true);

        output.WriteLine($"{key}='{invalid}': {rejected.Level} {rejected.Id.Name}: {rejected.Message}");
        output.WriteLine($"upload before: {before.Ending}; during the rejected change: {during.Ending}; after a valid change to Drain: {after.Ending} {string.Join(",", after.Result.StatusCodes)}");
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, rejected.Level);
        Assert.Contains($"HalfClose:{key}", rejected.Message, StringComparison.Ordinal);
        Assert.Equal(Ending.Reset, before.Ending);
        Assert.Equal(Ending.Reset, during.Ending);
        Assert.Contains(servers.Logs.GetSnapshot(), log => log.Id.Name == "PolicyReloaded");
        Assert.Equal(Ending.Fin, after.Ending);
        Assert.Equal([413], after.Result.StatusCodes);
    }

    private static async Task<Exception> StartFailsAsync(Dictionary<string, string?> config)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestServers.StartOriginAsync(new Probe(), config, withPolicy: true));
        Assert.True(error is InvalidOperationException or OptionsValidationException, error.ToString());
        return error;
    }
}
