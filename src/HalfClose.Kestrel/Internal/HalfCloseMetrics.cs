using System.Diagnostics.Metrics;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The <c>HalfClose.Kestrel</c> meter and its instruments. Records unconditionally: a connection reads
/// <see cref="Enabled"/> once when it starts and records only what was enabled then (<see cref="ConnectionTelemetry"/>),
/// so every +1 of the up-down counter has its -1.
/// </summary>
internal sealed class HalfCloseMetrics
{
    public const string MeterName = "HalfClose.Kestrel";

    private readonly Counter<long> _clientFins;
    private readonly Counter<long> _requestsAfterFin;
    private readonly UpDownCounter<long> _halfOpen;
    private readonly Histogram<double> _halfOpenDuration;
    private readonly Counter<long> _lingers;
    private readonly Histogram<double> _lingerDuration;
    private readonly Counter<long> _lingerDrained;

    public HalfCloseMetrics(IMeterFactory? meterFactory)
    {
        var meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _clientFins = meter.CreateCounter<long>(
            "halfclose.client_fins", "{fin}", "Client FINs on HTTP/1.x connections, by phase, transport and outcome.");
        _requestsAfterFin = meter.CreateCounter<long>(
            "halfclose.requests_after_fin", "{request}", "Requests answered after the client's FIN.");
        _halfOpen = meter.CreateUpDownCounter<long>(
            "halfclose.connections.half_open", "{connection}", "Connections half-closed by the client and still being served.");
        _halfOpenDuration = meter.CreateHistogram<double>(
            "halfclose.half_open.duration", "s", "How long connections stayed half-open, by outcome.");
        _lingers = meter.CreateCounter<long>(
            "halfclose.lingers", "{connection}", "Server closes while the client might still send: drained, rejected, or cut at a bound.");
        _lingerDuration = meter.CreateHistogram<double>(
            "halfclose.linger.duration", "s", "How long lingering closes read and discarded.");
        _lingerDrained = meter.CreateCounter<long>(
            "halfclose.linger.drained", "By", "Bytes read and discarded by lingering closes.");
    }

    /// <summary>The instruments that have a listener now.</summary>
    public MetricsEnabled Enabled =>
        (_clientFins.Enabled ? MetricsEnabled.ClientFins : 0)
        | (_requestsAfterFin.Enabled ? MetricsEnabled.RequestsAfterFin : 0)
        | (_halfOpen.Enabled ? MetricsEnabled.HalfOpen : 0)
        | (_halfOpenDuration.Enabled ? MetricsEnabled.HalfOpenDuration : 0)
        | (_lingers.Enabled ? MetricsEnabled.Lingers : 0)
        | (_lingerDuration.Enabled ? MetricsEnabled.LingerDuration : 0)
        | (_lingerDrained.Enabled ? MetricsEnabled.LingerDrained : 0);

    public void ClientFin(FinPhase phase, bool isTls, HalfCloseOutcome outcome) =>
        _clientFins.Add(1, Phase(phase), Transport(isTls), Outcome(outcome));

    public void RequestAfterFin(bool isTls) => _requestsAfterFin.Add(1, Transport(isTls));

    public void HalfOpenChanged(bool isTls, int delta) => _halfOpen.Add(delta, Transport(isTls));

    public void HalfOpenDuration(bool isTls, HalfCloseOutcome outcome, TimeSpan duration) =>
        _halfOpenDuration.Record(duration.TotalSeconds, Transport(isTls), Outcome(outcome));

    public void Linger(LingerEnd end) => _lingers.Add(1, LingerTag(end));

    public void LingerDuration(LingerEnd end, TimeSpan duration) => _lingerDuration.Record(duration.TotalSeconds, LingerTag(end));

    public void LingerDrained(LingerEnd end, long drained) => _lingerDrained.Add(drained, LingerTag(end));

    private static KeyValuePair<string, object?> LingerTag(LingerEnd end) => new("halfclose.linger.end", end switch
    {
        LingerEnd.ClientClosed => "client_closed",
        LingerEnd.TimeLimit => "time_limit",
        LingerEnd.IdleLimit => "idle_limit",
        LingerEnd.ByteLimit => "byte_limit",
        LingerEnd.Reset => "reset",
        _ => "rejected",
    });

    private static KeyValuePair<string, object?> Transport(bool isTls) => new("halfclose.transport", isTls ? "tls" : "tcp");

    private static KeyValuePair<string, object?> Phase(FinPhase phase) => new("halfclose.phase", phase switch
    {
        FinPhase.BetweenRequests => "between_requests",
        FinPhase.RequestHeaders => "request_headers",
        FinPhase.RequestBody => "request_body",
        FinPhase.Response => "response",
        _ => "unknown",
    });

    private static KeyValuePair<string, object?> Outcome(HalfCloseOutcome outcome) => new("halfclose.outcome", outcome switch
    {
        HalfCloseOutcome.Served => "served",
        HalfCloseOutcome.Discarded => "discarded",
        HalfCloseOutcome.Aborted => "aborted",
        HalfCloseOutcome.TimedOut => "timed_out",
        HalfCloseOutcome.Reset => "reset",
        _ => "bypassed",
    });
}
