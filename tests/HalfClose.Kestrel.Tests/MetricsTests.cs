using System.Diagnostics.Metrics;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace HalfClose.Kestrel.Tests;

/// <summary>The HalfClose.Kestrel meter and the log events, over real-socket scenarios.</summary>
public sealed class MetricsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static MetricCollector<T> Collect<T>(TestServers servers, string instrument)
        where T : struct =>
        new(servers.PolicyServices.GetRequiredService<IMeterFactory>(), "HalfClose.Kestrel", instrument);

    private static async Task<RawResult> GetThenFinAsync(TestServers servers, string target, string id)
    {
        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync($"GET {target} HTTP/1.1\r\nHost: test\r\n\r\n");
        await servers.Probe.Started(id).WaitAsync(Bound);
        client.HalfClose();
        return await client.ReadToEndAsync();
    }

    private static void AssertTags(CollectedMeasurement<long> measurement, string phase, string transport, string outcome)
    {
        Assert.Equal(phase, measurement.Tags["halfclose.phase"]);
        Assert.Equal("tcp", measurement.Tags["network.transport"]);
        Assert.Equal("127.0.0.1", measurement.Tags["server.address"]);
        Assert.Equal("ipv4", measurement.Tags["network.type"]);
        Assert.True(measurement.Tags.ContainsKey("server.port"));
        if (transport == "tls")
        {
            Assert.Equal("1.3", measurement.Tags["tls.protocol.version"]);
        }
        else
        {
            Assert.False(measurement.Tags.ContainsKey("tls.protocol.version"));
        }
        Assert.Equal(outcome, measurement.Tags["halfclose.outcome"]);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task ServedAfterFin_CountedWithPhaseTransportOutcome(Front front)
    {
        await using var servers = await TestServers.StartAsync(front);
        using var fins = Collect<long>(servers, "halfclose.client_fins");
        using var requests = Collect<long>(servers, "halfclose.requests_after_fin");
        using var halfOpen = Collect<long>(servers, "halfclose.active_half_open_connections");
        using var duration = Collect<double>(servers, "halfclose.half_open.duration");

        // The handler answers only once the connection is half-open (the FIN decided while its response was due), however
        // late the thread pool runs the FIN's work; the FIN's count is made as the connection ends.
        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(HttpText.Get("/held?id=a"));
        await servers.Probe.Started("a").WaitAsync(Bound);
        client.HalfClose();
        await halfOpen.WaitForMeasurementsAsync(1, Bound);
        servers.Probe.Release("a");
        var result = await client.ReadToEndAsync();
        await fins.WaitForMeasurementsAsync(1, Bound);
        await duration.WaitForMeasurementsAsync(1, Bound);

        Assert.Equal([200], result.StatusCodes);
        var fin = Assert.Single(fins.GetMeasurementSnapshot());
        Assert.Equal(1, fin.Value);
        AssertTags(fin, "response", "tcp", "served");
        Assert.Equal(1, Assert.Single(requests.GetMeasurementSnapshot()).Value);
        Assert.Equal([1L, -1L], halfOpen.GetMeasurementSnapshot().Select(m => m.Value));
        var seconds = Assert.Single(duration.GetMeasurementSnapshot());
        Assert.InRange(seconds.Value, 0.000001, 5);
        Assert.Equal("served", seconds.Tags["halfclose.outcome"]);
        var logs = servers.Logs.GetSnapshot();
        Assert.Contains(logs, log => log.Id.Id == 1 && log.Id.Name == "ClientHalfClosed");
        Assert.Contains(logs, log => log.Id.Id == 2 && log.Id.Name == "ServedAfterFin");
        Assert.DoesNotContain(logs, log => log.Category == "HalfClose.Kestrel" && log.Level > Microsoft.Extensions.Logging.LogLevel.Information);
    }

    [Fact]
    public async Task AbortedByPolicy_CountedAsAborted()
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel, new Dictionary<string, string?> { ["ClientFin"] = "Abort" });
        using var fins = Collect<long>(servers, "halfclose.client_fins");
        using var halfOpen = Collect<long>(servers, "halfclose.active_half_open_connections");

        await GetThenFinAsync(servers, "/slow?ms=5000&id=a", "a");
        await fins.WaitForMeasurementsAsync(1, Bound);

        AssertTags(Assert.Single(fins.GetMeasurementSnapshot()), "response", "tcp", "aborted");
        Assert.Empty(halfOpen.GetMeasurementSnapshot());
        Assert.Contains(servers.Logs.GetSnapshot(), log => log.Id.Id == 3 && log.Id.Name == "AbortedOnFin");
    }

    [Fact]
    public async Task HalfOpenTimeout_CountedAsTimedOut_GaugeBackToZero()
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel, new Dictionary<string, string?> { ["HalfOpenTimeout"] = "00:00:01" });
        using var fins = Collect<long>(servers, "halfclose.client_fins");
        using var halfOpen = Collect<long>(servers, "halfclose.active_half_open_connections");

        await GetThenFinAsync(servers, "/hang?id=a", "a");
        await fins.WaitForMeasurementsAsync(1, Bound);

        AssertTags(Assert.Single(fins.GetMeasurementSnapshot()), "response", "tcp", "timed_out");
        Assert.Equal(0, halfOpen.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Contains(servers.Logs.GetSnapshot(), log => log.Id.Id == 4 && log.Id.Name == "HalfOpenTimedOut");
    }

    [Fact]
    public async Task ResetWhileHalfOpen_CountedAsReset()
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel);
        using var fins = Collect<long>(servers, "halfclose.client_fins");

        // Listening before the connection starts: a connection records what had a listener when it started.
        using var halfOpen = Collect<long>(servers, "halfclose.active_half_open_connections");
        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync("GET /hang?id=a HTTP/1.1\r\nHost: test\r\n\r\n");
        await servers.Probe.Started("a").WaitAsync(Bound);
        client.HalfClose();
        await halfOpen.WaitForMeasurementsAsync(1, Bound);
        client.Reset();
        await fins.WaitForMeasurementsAsync(1, Bound);

        AssertTags(Assert.Single(fins.GetMeasurementSnapshot()), "response", "tcp", "reset");
        Assert.Contains(servers.Logs.GetSnapshot(), log => log.Id.Id == 5 && log.Id.Name == "ResetWhileHalfOpen");
    }

    [Fact]
    public async Task FinBetweenRequestsAndInsideHeaders_PhasesTold()
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel);
        using var fins = Collect<long>(servers, "halfclose.client_fins");

        await using (var idle = await RawHttpClient.ConnectAsync(servers.Port))
        {
            await idle.SendAsync("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
            await idle.ReadResponsesAsync(1);
            idle.HalfClose();
            await idle.ReadToEndAsync();
        }

        await fins.WaitForMeasurementsAsync(1, Bound);
        await RawHttpClient.SendAndHalfCloseAsync(servers.Port, "GET / HTTP/1.1\r\nHost: te");
        await fins.WaitForMeasurementsAsync(2, Bound);

        var measurements = fins.GetMeasurementSnapshot();
        AssertTags(measurements[0], "between_requests", "tcp", "served");
        AssertTags(measurements[1], "request_headers", "tcp", "served");
    }

    [Fact]
    public async Task Http2OverTls_Fin_CountedAsBypassed()
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel, tls: true);
        using var fins = Collect<long>(servers, "halfclose.client_fins");

        await using var client = await RawTlsClient.ConnectAsync(servers.TlsPort, http2: true);
        await client.SendAsync(H2Frames.PrefaceSettingsAndGet("/hang?id=a", https: true));
        await servers.Probe.Started("a").WaitAsync(Bound);
        client.HalfClose();
        await fins.WaitForMeasurementsAsync(1, Bound);

        var fin = Assert.Single(fins.GetMeasurementSnapshot());
        Assert.Equal("bypassed", fin.Tags["halfclose.outcome"]);
        Assert.Equal("1.3", fin.Tags["tls.protocol.version"]);
        await servers.Probe.Aborted("a").WaitAsync(Bound);
        Assert.Contains(servers.Logs.GetSnapshot(), log => log.Id.Id == 6 && log.Id.Name == "Bypassed");
    }
}
