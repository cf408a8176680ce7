using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The <c>HalfClose.Kestrel</c> meter and its instruments, named and tagged as OpenTelemetry's conventions and Kestrel's
/// own metrics are: durations in seconds with Kestrel's bucket advice, and the connection's <c>server.address</c>,
/// <c>server.port</c>, <c>network.type</c>, <c>network.transport</c> and <c>tls.protocol.version</c>, so that these
/// series join Kestrel's per-endpoint ones. Records unconditionally: a connection reads <see cref="Enabled"/> once, when
/// it starts, and records only what was enabled then (<see cref="ConnectionTelemetry"/>).
/// </summary>
internal sealed class HalfCloseMetrics
{
    public const string MeterName = "HalfClose.Kestrel";

    // Kestrel's advice for kestrel.connection.duration: from 10 ms to 5 minutes.
    private static readonly InstrumentAdvice<double> SecondsAdvice = new()
    {
        HistogramBucketBoundaries = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    };

    private readonly Counter<long> _clientFins;
    private readonly Counter<long> _requestsAfterFin;
    private readonly UpDownCounter<long> _halfOpen;
    private readonly Histogram<double> _halfOpenDuration;
    private readonly Counter<long> _lingeringCloses;
    private readonly Histogram<double> _lingerDuration;
    private readonly Counter<long> _lingerDrained;

    public HalfCloseMetrics(IMeterFactory? meterFactory)
    {
        var meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _clientFins = meter.CreateCounter<long>(
            "halfclose.client_fins", "{fin}", "Client FINs on HTTP/1.x connections, by phase and outcome.");
        _requestsAfterFin = meter.CreateCounter<long>(
            "halfclose.requests_after_fin", "{request}", "Requests answered after the client's FIN.");
        _halfOpen = meter.CreateUpDownCounter<long>(
            "halfclose.active_half_open_connections", "{connection}", "Connections half-closed by the client and still being served.");
        _halfOpenDuration = meter.CreateHistogram(
            "halfclose.half_open.duration", "s", "How long connections stayed half-open, by outcome.", tags: null, SecondsAdvice);
        _lingeringCloses = meter.CreateCounter<long>(
            "halfclose.lingering_closes", "{close}", "Server closes while the client might still send: drained, rejected, or cut at a bound.");
        _lingerDuration = meter.CreateHistogram(
            "halfclose.linger.duration", "s", "How long lingering closes read and discarded.", tags: null, SecondsAdvice);
        _lingerDrained = meter.CreateCounter<long>(
            "halfclose.linger.drained", "By", "Bytes read and discarded by lingering closes.");
    }

    /// <summary>The instruments that have a listener now.</summary>
    public MetricsEnabled Enabled =>
        (_clientFins.Enabled ? MetricsEnabled.ClientFins : 0)
        | (_requestsAfterFin.Enabled ? MetricsEnabled.RequestsAfterFin : 0)
        | (_halfOpen.Enabled ? MetricsEnabled.HalfOpen : 0)
        | (_halfOpenDuration.Enabled ? MetricsEnabled.HalfOpenDuration : 0)
        | (_lingeringCloses.Enabled ? MetricsEnabled.Lingers : 0)
        | (_lingerDuration.Enabled ? MetricsEnabled.LingerDuration : 0)
        | (_lingerDrained.Enabled ? MetricsEnabled.LingerDrained : 0);

    public void ClientFin(in ConnectionTags connection, FinPhase phase, HalfCloseOutcome outcome)
    {
        var tags = connection.ToTagList();
        tags.Add(Phase(phase));
        tags.Add(OutcomeTag(outcome));
        _clientFins.Add(1, tags);
    }

    public void RequestAfterFin(in ConnectionTags connection) => _requestsAfterFin.Add(1, connection.ToTagList());

    public void HalfOpenChanged(in ConnectionTags connection, int delta) => _halfOpen.Add(delta, connection.ToTagList());

    public void HalfOpenDuration(in ConnectionTags connection, HalfCloseOutcome outcome, TimeSpan duration)
    {
        var tags = connection.ToTagList();
        tags.Add(OutcomeTag(outcome));
        _halfOpenDuration.Record(duration.TotalSeconds, tags);
    }

    public void Linger(in ConnectionTags connection, LingerEnd end) => _lingeringCloses.Add(1, WithLingerEnd(connection, end));

    public void LingerDuration(in ConnectionTags connection, LingerEnd end, TimeSpan duration) =>
        _lingerDuration.Record(duration.TotalSeconds, WithLingerEnd(connection, end));

    public void LingerDrained(in ConnectionTags connection, LingerEnd end, long drained) => _lingerDrained.Add(drained, WithLingerEnd(connection, end));

    /// <summary>The <c>halfclose.outcome</c> value of an outcome (also added to Kestrel's <c>kestrel.connection.duration</c>).</summary>
    public static string OutcomeValue(HalfCloseOutcome outcome) => outcome switch
    {
        HalfCloseOutcome.Served => "served",
        HalfCloseOutcome.Discarded => "discarded",
        HalfCloseOutcome.Aborted => "aborted",
        HalfCloseOutcome.TimedOut => "timed_out",
        HalfCloseOutcome.Reset => "reset",
        _ => "bypassed",
    };

    public static KeyValuePair<string, object?> OutcomeTag(HalfCloseOutcome outcome) => new("halfclose.outcome", OutcomeValue(outcome));

    private static TagList WithLingerEnd(in ConnectionTags connection, LingerEnd end)
    {
        var tags = connection.ToTagList();
        tags.Add(new("halfclose.linger.end", end switch
        {
            LingerEnd.ClientClosed => "client_closed",
            LingerEnd.TimeLimit => "time_limit",
            LingerEnd.IdleLimit => "idle_limit",
            LingerEnd.ByteLimit => "byte_limit",
            LingerEnd.Reset => "reset",
            _ => "rejected",
        }));
        return tags;
    }

    private static KeyValuePair<string, object?> Phase(FinPhase phase) => new("halfclose.phase", phase switch
    {
        FinPhase.BetweenRequests => "between_requests",
        FinPhase.RequestHeaders => "request_headers",
        FinPhase.RequestBody => "request_body",
        FinPhase.Response => "response",
        _ => "unknown",
    });
}
