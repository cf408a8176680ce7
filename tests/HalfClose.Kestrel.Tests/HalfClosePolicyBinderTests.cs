using HalfClose.Kestrel.Internal;
using Microsoft.Extensions.Configuration;

namespace HalfClose.Kestrel.Tests;

/// <summary>The HalfClose section bound without reflection: every key, any case; what it refuses, with key and value.</summary>
public sealed class HalfClosePolicyBinderTests
{
    private static (HalfClosePolicyOptions Options, List<string> Errors) Bind(Dictionary<string, string?> values)
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("HalfClose");
        var options = new HalfClosePolicyOptions();
        var errors = new List<string>();
        HalfClosePolicyBinder.Bind(section, options, errors);
        return (options, errors);
    }

    [Fact]
    public void EveryKey_AnyCase_Bound()
    {
        var (options, errors) = Bind(new()
        {
            ["HalfClose:clientfin"] = "abort",
            ["HalfClose:TLSCLIENTFIN"] = " Serve ",
            ["HalfClose:PipelinedRequests"] = "Discard",
            ["HalfClose:HalfOpenTimeout"] = "00:00:07",
            ["HalfClose:Linger"] = "Reject",
            ["HalfClose:LingerTime"] = "00:01:00",
            ["HalfClose:LingerTimeout"] = "00:00:02",
            ["HalfClose:LingerMaxBytes"] = "65536",
        });

        Assert.Empty(errors);
        Assert.Equal(ClientFinMode.Abort, options.ClientFin);
        Assert.Equal(ClientFinMode.Serve, options.TlsClientFin);
        Assert.Equal(PipelinedRequestsMode.Discard, options.PipelinedRequests);
        Assert.Equal(TimeSpan.FromSeconds(7), options.HalfOpenTimeout);
        Assert.Equal(LingerMode.Reject, options.Linger);
        Assert.Equal(TimeSpan.FromMinutes(1), options.LingerTime);
        Assert.Equal(TimeSpan.FromSeconds(2), options.LingerTimeout);
        Assert.Equal(65536, options.LingerMaxBytes);
    }

    [Fact]
    public void NullValue_NotSet_DefaultsStay()
    {
        var (options, errors) = Bind(new() { ["HalfClose:ClientFin"] = null, ["HalfClose:LingerMaxBytes"] = null });

        Assert.Empty(errors);
        Assert.Equal(ClientFinMode.Serve, options.ClientFin);
        Assert.Null(options.LingerMaxBytes);
    }

    [Theory]
    [InlineData("ClientFin", "", "HalfClose:ClientFin", "''")]
    [InlineData("ClientFin", "Serve,Abort", "HalfClose:ClientFin", "not a list")]
    [InlineData("Linger", "Sometimes", "HalfClose:Linger", "'Sometimes'")]
    [InlineData("HalfOpenTimeout", "soon", "HalfClose:HalfOpenTimeout", "'soon'")]
    [InlineData("LingerMaxBytes", "1.5", "HalfClose:LingerMaxBytes", "'1.5'")]
    [InlineData("Linger:Mode", "Drain", "HalfClose:Linger:Mode", "not found")]
    [InlineData("Lingering", "Drain", "HalfClose:Lingering", "not found")]
    public void Refused_NamingKeyAndValue(string key, string value, string expectedKey, string expectedText)
    {
        var (_, errors) = Bind(new() { [$"HalfClose:{key}"] = value });

        var error = Assert.Single(errors);
        Assert.Contains(expectedKey, error, StringComparison.Ordinal);
        Assert.Contains(expectedText, error, StringComparison.Ordinal);
    }
}
