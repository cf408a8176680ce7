using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>The facet the application sees (<see cref="IHalfCloseFeature"/>), and the facts the request middleware pushes.</summary>
internal sealed partial class HalfCloseConnection : IHalfCloseFeature
{
    private CancellationTokenSource? _halfClosedSource;
    private EndpointNotifier? _endpointNotifier;
    private volatile bool _clientHalfClosed;
    private volatile bool _failedAfterFin;
    private int _facts;

    /// <summary>The request in flight's facts, as the request middleware last pushed them (written by the request's thread only).</summary>
    private RequestFacts Facts => (RequestFacts)Volatile.Read(ref _facts);

    public bool IsSupported => !IsMultiplexed();

    public bool IsClientHalfClosed => _clientHalfClosed;

    public CancellationToken ClientHalfClosed
    {
        get
        {
            if (_clientHalfClosed)
            {
                return new CancellationToken(canceled: true);
            }

            var source = _halfClosedSource ?? Interlocked.CompareExchange(ref _halfClosedSource, new(), null) ?? _halfClosedSource;

            // The FIN may have been seen between the first check and the source's creation.
            return _clientHalfClosed ? new CancellationToken(canceled: true) : source.Token;
        }
    }

    public async ValueTask<bool> ShutdownSendAsync(CancellationToken cancellationToken = default)
    {
        // A TCP FIN under TLS without close_notify reads as a truncation; without request tracking, the caller vouches for the upgrade.
        if (_output is null || _connection.Features.Get<ITlsConnectionFeature>() is not null
            || (_shared.TracksRequests && !Facts.Has(RequestFacts.Upgraded)) || IsClosed())
        {
            return false;
        }

        if (!await _output.ShutdownSendAsync().WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        Run(static (ref machine, now, _) => machine.SendShutDown(now));
        return true;
    }

    /// <summary>A request starts (the request middleware, on the request's thread).</summary>
    public void RequestStarted(HttpContext context)
    {
        var mayHaveBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true;
        Volatile.Write(ref _facts, (int)(RequestFacts.InFlight | (mayHaveBody ? RequestFacts.MayHaveBody : 0)));

        // Routing tells which endpoint the request gets, and so whether its own policy decides the FIN.
        (_endpointNotifier ??= new EndpointNotifier(this)).Attach(context.Features);

        if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
        {
            context.Features.Set<IHttpUpgradeFeature>(new UpgradeNotifier(upgrade, this));
        }
    }

    /// <summary>Routing picked the request's endpoint (on the request's thread). Its <c>Abort</c> applies even to a FIN already served.</summary>
    public void EndpointSelected(Endpoint? endpoint)
    {
        if (endpoint?.Metadata.GetMetadata<IHalfClosePolicyMetadata>()?.ClientFin is not { } clientFin)
        {
            return;
        }

        var aborts = clientFin == ClientFinMode.Abort;
        Volatile.Write(ref _facts, (int)(Facts | (aborts ? RequestFacts.EndpointAborts : RequestFacts.EndpointServes)));
        if (aborts)
        {
            // Under the lock after the write: a FIN decided before it is aborted here, one decided after it reads the fact.
            Run(static (ref machine, _, _) => machine.EndpointAborts());
        }
    }

    /// <summary>The request in flight was answered 101 (on the request's thread).</summary>
    public void RequestUpgraded() => Volatile.Write(ref _facts, (int)(Facts | RequestFacts.Upgraded));

    /// <summary>The request's pipeline has finished (on the request's thread); counted when it was answered after the FIN.</summary>
    public void RequestEnded(HttpContext context)
    {
        // Kestrel may still read the rest after this; if the connection ends instead, the client may still be sending it.
        var bodyUnread = context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true }
            && context.Features.Get<IHttpRequestTrailersFeature>() is { Available: false };
        Volatile.Write(ref _facts, (int)(bodyUnread ? RequestFacts.BodyUnread : RequestFacts.None));
        if (!_clientHalfClosed)
        {
            return;
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            // Kestrel aborted it after the FIN: a write failed, the client reset (the transport noticed before the watch did).
            _failedAfterFin = true;
        }
        else
        {
            _telemetry.RequestAfterFin();
        }
    }

    private bool IsClosed()
    {
        lock (_lock)
        {
            return _machine.State == ConnectionState.Closed;
        }
    }

    /// <summary>
    /// Whether the connection speaks HTTP/2 (ALPN <c>h2</c>). A FIN that came with the TLS handshake finds it unfinished:
    /// no protocol is known yet, and nothing is in flight that HTTP/2 could lose, so it is taken as HTTP/1.x.
    /// </summary>
    private bool IsMultiplexed()
    {
        try
        {
            return _connection.Features.Get<ITlsApplicationProtocolFeature>() is { } alpn && alpn.ApplicationProtocol.Span.SequenceEqual("h2"u8);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Where the exchange stood as the FIN arrived, from the pushed facts and what the input held. Below TLS the unread
    /// bytes are records, not HTTP: there a FIN with no request in the application reads as between requests.
    /// </summary>
    private FinPhase PhaseOf(RequestFacts facts, InputRemainder remainder, bool readerWasWaiting, bool isTls)
    {
        if (!_shared.TracksRequests)
        {
            return FinPhase.Unknown;
        }

        if (facts.Has(RequestFacts.InFlight))
        {
            return facts.Has(RequestFacts.MayHaveBody) && readerWasWaiting ? FinPhase.RequestBody : FinPhase.Response;
        }

        return remainder switch
        {
            _ when isTls && _belowTls => FinPhase.BetweenRequests,
            InputRemainder.Headers => FinPhase.Response,
            InputRemainder.Partial => FinPhase.RequestHeaders,
            _ => FinPhase.BetweenRequests,
        };
    }

    private void SignalHalfClosed()
    {
        _clientHalfClosed = true;
        try
        {
            Volatile.Read(ref _halfClosedSource)?.Cancel();
        }
        catch (AggregateException ex)
        {
            _telemetry.UnexpectedError(ex);
        }
    }
}
