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

    /// <summary>One server close while the client might still send; the count goes last, after its duration and bytes.</summary>
    public void Linger(LingerEnd end, TimeSpan duration, long drained)
    {
        var tag = LingerTag(end);
        if (end != LingerEnd.Rejected)
        {
            if (_lingerDuration.Enabled)
            {
                _lingerDuration.Record(duration.TotalSeconds, tag);
            }

            if (_lingerDrained.Enabled && drained > 0)
            {
                _lingerDrained.Add(drained, tag);
            }
        }

        if (_lingers.Enabled)
        {
            _lingers.Add(1, tag);
        }
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
