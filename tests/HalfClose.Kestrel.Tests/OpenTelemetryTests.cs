using System.Globalization;
using System.Text;
using HalfClose.Kestrel.Tests.Infrastructure;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Xunit.Abstractions;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// The meter as OpenTelemetry exports it (a real MeterProvider, the in-memory exporter): names, units, the seconds-scale
/// bucket advice, the attributes Kestrel's own metrics use, and the outcome on Kestrel's <c>kestrel.connection.duration</c>.
/// </summary>
[Collection(MeterListeners.Name)]
public sealed class OpenTelemetryTests(ITestOutputHelper output)
{
    private static readonly double[] KestrelBuckets = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

    [Fact]
    public async Task TenHalfClosedRequests_ExportedWithUnitsBucketsAndKestrelsAttributes()
    {
        var exported = new List<Metric>();
        using var provider = OpenTelemetry.Sdk.CreateMeterProviderBuilder()
            .AddMeter("HalfClose.Kestrel", "Microsoft.AspNetCore.Server.Kestrel")
            .AddInMemoryExporter(exported)
            .Build();
        await using var servers = await TestServers.StartAsync(Front.Kestrel);

        // Sent with their FIN, as nc -N does; the handler takes 50 ms, so the FIN is known before each request ends.
        for (var i = 0; i < 10; i++)
        {
            var result = await RawHttpClient.SendAndHalfCloseAsync(servers.Port, HttpText.Get($"/slow?ms=50&id={i}"));
            Assert.Equal([200], result.StatusCodes);
        }

        // Every connection has ended (its counts are made then) once the server has no socket left on the port.
        Assert.Equal(0, await Reliability.Reliable.WaitForNoConnectionsAsync(servers.Port, TimeSpan.FromSeconds(10)));
        provider.ForceFlush();

        var ours = Points(exported, servers.Port).ToArray();
        foreach (var (metric, point) in ours)
        {
            output.WriteLine(Line(metric, point));
        }

        var fins = ours.Where(p => p.Metric.Name == "halfclose.client_fins").ToArray();
        Assert.Equal(10, fins.Where(p => Tag(p.Point, "halfclose.phase") == "response").Sum(p => p.Point.GetSumLong()));
        Assert.All(fins, p => Assert.Equal("{fin}", p.Metric.Unit));
        Assert.All(fins, p => Assert.Equal("served", Tag(p.Point, "halfclose.outcome")));
        Assert.All(fins, p => Assert.Equal("tcp", Tag(p.Point, "network.transport")));
        Assert.All(fins, p => Assert.Equal("ipv4", Tag(p.Point, "network.type")));
        Assert.All(fins, p => Assert.Equal("127.0.0.1", Tag(p.Point, "server.address")));

        var answered = Assert.Single(ours, p => p.Metric.Name == "halfclose.requests_after_fin");
        Assert.Equal(("{request}", 10L), (answered.Metric.Unit, answered.Point.GetSumLong()));

        var durations = ours.Where(p => p.Metric.Name == "halfclose.half_open.duration").ToArray();
        Assert.NotEmpty(durations);
        Assert.All(durations, p => Assert.Equal("s", p.Metric.Unit));
        Assert.All(durations, p => Assert.Equal(KestrelBuckets, Bounds(p.Point)));
        Assert.Equal(10, durations.Sum(p => p.Point.GetHistogramCount()));

        var active = Assert.Single(ours, p => p.Metric.Name == "halfclose.active_half_open_connections");
        Assert.Equal("{connection}", active.Metric.Unit);
        Assert.Equal(0, active.Point.GetSumLong());

        var kestrel = ours.Where(p => p.Metric.Name == "kestrel.connection.duration").ToArray();
        Assert.Equal(10, kestrel.Where(p => Tag(p.Point, "halfclose.outcome") == "served").Sum(p => p.Point.GetHistogramCount()));
    }

    private static IEnumerable<(Metric Metric, MetricPoint Point)> Points(List<Metric> exported, int port)
    {
        foreach (var metric in exported)
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (Tag(point, "server.port") == port.ToString(CultureInfo.InvariantCulture))
                {
                    yield return (metric, point);
                }
            }
        }
    }

    private static string? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return Convert.ToString(tag.Value, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    private static double[] Bounds(MetricPoint point)
    {
        var bounds = new List<double>();
        foreach (var bucket in point.GetHistogramBuckets())
        {
            if (!double.IsPositiveInfinity(bucket.ExplicitBound))
            {
                bounds.Add(bucket.ExplicitBound);
            }
        }

        return [.. bounds];
    }

    /// <summary>The point as a Prometheus-style line: name, unit, attributes, value (sum and count for histograms).</summary>
    private static string Line(Metric metric, MetricPoint point)
    {
        var tags = new StringBuilder();
        foreach (var tag in point.Tags)
        {
            tags.Append(tags.Length == 0 ? "" : ",").Append(tag.Key).Append("=\"").Append(tag.Value).Append('"');
        }

        var value = metric.MetricType switch
        {
            MetricType.Histogram => $"sum={point.GetHistogramSum().ToString("0.######", CultureInfo.InvariantCulture)} count={point.GetHistogramCount()}",
            MetricType.LongSum or MetricType.LongSumNonMonotonic => point.GetSumLong().ToString(CultureInfo.InvariantCulture),
            _ => "?",
        };
        return $"{metric.Name} [{metric.Unit}] {{{tags}}} {value}";
    }
}
