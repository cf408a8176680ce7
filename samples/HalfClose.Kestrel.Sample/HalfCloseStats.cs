using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace HalfClose.Kestrel.Sample;

/// <summary>
/// Totals of the <c>HalfClose.Kestrel</c> meter's instruments by tag set, for <c>GET /halfclose/stats</c>: a way to watch
/// the counters while sending <c>nc -N</c> requests (in production, read the meter with OpenTelemetry or dotnet-counters).
/// </summary>
public sealed class HalfCloseStats : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _totals = new();

    /// <summary>Starts listening to the meter of the application whose <paramref name="meterFactory"/> this is (not the demo origin's).</summary>
    /// <param name="meterFactory">The application's meter factory.</param>
    public HalfCloseStats(IMeterFactory meterFactory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "HalfClose.Kestrel" && ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>The totals, keyed by instrument and tags; histograms as <c>.count</c> and <c>.sum</c>.</summary>
    /// <returns>A sorted copy.</returns>
    public SortedDictionary<string, double> Snapshot() => new(_totals, StringComparer.Ordinal);

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = new List<string>(tags.Length);
        foreach (var tag in tags)
        {
            labels.Add($"{tag.Key}={tag.Value}");
        }

        labels.Sort(StringComparer.Ordinal);
        var key = labels.Count == 0 ? instrument.Name : $"{instrument.Name}{{{string.Join(',', labels)}}}";
        if (instrument is Histogram<double>)
        {
            _totals.AddOrUpdate(key + ".count", 1, (_, total) => total + 1);
            _totals.AddOrUpdate(key + ".sum", value, (_, total) => total + value);
        }
        else
        {
            _totals.AddOrUpdate(key, value, (_, total) => total + value);
        }
    }
}
