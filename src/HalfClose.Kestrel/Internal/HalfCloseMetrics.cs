using System.Diagnostics.Metrics;

namespace HalfClose.Kestrel.Internal;

/// <summary>The <c>HalfClose.Kestrel</c> meter and its instruments.</summary>
internal sealed class HalfCloseMetrics
{
    public const string MeterName = "HalfClose.Kestrel";

    private readonly Counter<long> _clientFins;
    private readonly Counter<long> _requestsAfterFin;
    private readonly UpDownCounter<long> _halfOpen;
    private readonly Histogram<double> _halfOpenDuration;

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
    }

    public void ClientFin(FinPhase phase, bool isTls, HalfCloseOutcome outcome)
    {
        if (_clientFins.Enabled)
        {
            _clientFins.Add(1, Phase(phase), Transport(isTls), Outcome(outcome));
        }
    }

    public void RequestAfterFin(bool isTls)
    {
        if (_requestsAfterFin.Enabled)
        {
            _requestsAfterFin.Add(1, Transport(isTls));
        }
    }

    public void HalfOpenStarted(bool isTls)
    {
        if (_halfOpen.Enabled)
        {
            _halfOpen.Add(1, Transport(isTls));
        }
    }

    public void HalfOpenEnded(bool isTls, HalfCloseOutcome outcome, TimeSpan duration)
    {
        if (_halfOpen.Enabled)
        {
            _halfOpen.Add(-1, Transport(isTls));
        }

        if (_halfOpenDuration.Enabled)
        {
            _halfOpenDuration.Record(duration.TotalSeconds, Transport(isTls), Outcome(outcome));
        }
    }

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
