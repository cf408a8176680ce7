using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>What the application sees of the connection, and what the request middleware tells it.</summary>
internal sealed partial class HalfCloseConnection : IHalfCloseFeature
{
    private CancellationTokenSource? _halfClosedSource;
    private HttpContext? _request;
    private volatile bool _clientHalfClosed;
    private volatile bool _abortedAfterFin;
    private EndpointNotifier? _endpointNotifier;
    private int _endpointAborts;

    public bool IsSupported => !IsMultiplexed(_connection);

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

    /// <summary>A request starts on this connection (the request middleware calls it).</summary>
    public void RequestStarted(HttpContext context)
    {
        _unreadBody = false;
        Volatile.Write(ref _endpointAborts, 0);
        Volatile.Write(ref _request, context);
        if (_policy is { ClientFin: ClientFinMode.Serve } or { TlsClientFin: ClientFinMode.Serve })
        {
            // The FIN may be decided, under the connection's Serve, before routing picks this request's endpoint (it may
            // come with the request, or while a middleware ahead of routing waits): hear which endpoint it gets.
            (_endpointNotifier ??= new EndpointNotifier(this)).Attach(context.Features);
        }
    }

    /// <summary>
    /// Routing picked the endpoint of a request that started after the FIN. The FIN's decision may have run before, under
    /// the connection's policy: an endpoint that says <c>Abort</c> aborts now. (An abort already done cannot be undone.)
    /// </summary>
    public void OnEndpointSelected(Endpoint? endpoint)
    {
        if (endpoint?.Metadata.GetMetadata<IHalfClosePolicyMetadata>() is not { ClientFin: ClientFinMode.Abort })
        {
            return;
        }

        // Written with a full fence before the state is read; the decision writes the state before reading this:
        // whichever runs second sees the other, so a decision racing with routing cannot miss the endpoint's Abort.
        Interlocked.Exchange(ref _endpointAborts, 1);
        AbortIfEndpointSaysSo();
    }

    /// <summary>After a Serve decision, and when routing picks an endpoint: the request in flight's endpoint says Abort.</summary>
    private void AbortIfEndpointSaysSo()
    {
        if (Volatile.Read(ref _endpointAborts) == 1 && Volatile.Read(ref _state) == HalfOpen && Forward(HalfCloseOutcome.Aborted))
        {
            HalfCloseLog.AbortedOnFin(_shared.Logger, _connection.ConnectionId);
        }
    }

    /// <summary>The request's pipeline has finished; counted when it was answered after the FIN.</summary>
    public void RequestEnded(HttpContext context)
    {
        // Kestrel may still read the rest after this; if the connection ends instead, the client may still be sending it.
        _unreadBody = HasUnreadBody(context);
        Volatile.Write(ref _request, null);
        Volatile.Write(ref _endpointAborts, 0);
        if (!_clientHalfClosed)
        {
            return;
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            // Kestrel aborted it after the FIN: a write failed, the client reset (the transport noticed before the watch did).
            _abortedAfterFin = true;
        }
        else
        {
            _shared.Metrics.RequestAfterFin(_isTls);
        }
    }

    /// <summary>
    /// The client-FIN policy of the endpoint whose request is in flight (<see cref="IHalfClosePolicyMetadata"/>), if any.
    /// Read from another thread as the FIN arrives: a request that has just ended reads as none.
    /// </summary>
    private ClientFinMode? EndpointClientFin()
    {
        if (Volatile.Read(ref _request) is not { } request)
        {
            return null;
        }

        try
        {
            return request.GetEndpoint()?.Metadata.GetMetadata<IHalfClosePolicyMetadata>()?.ClientFin;
        }
        catch (ObjectDisposedException)
        {
            // The request ended and its context was reset meanwhile: no request is in flight.
            return null;
        }
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
            HalfCloseLog.UnexpectedError(_shared.Logger, _connection.ConnectionId, ex);
        }
    }

    /// <summary>
    /// Where the exchange stands as the FIN arrives. Read from another thread: a best effort, for telemetry.
    /// Below TLS the unread bytes are records, not HTTP: there a FIN with no request in the application reads as
    /// between requests.
    /// </summary>
    private FinPhase CurrentPhase(bool fromInput)
    {
        if (!_shared.TracksRequests)
        {
            return FinPhase.Unknown;
        }

        var request = Volatile.Read(ref _request);
        if (request is not null)
        {
            return HasUnreadBody(request) ? FinPhase.RequestBody : FinPhase.Response;
        }

        if (!fromInput)
        {
            // Kestrel is not waiting for data and no request is in the application: it is between parsing one and running it.
            return FinPhase.Response;
        }

        return _input.RemainderAtEnd switch
        {
            InputRemainder.Headers => FinPhase.Response,
            InputRemainder.Partial => FinPhase.RequestHeaders,
            _ => FinPhase.BetweenRequests,
        };
    }

    /// <summary>Whether the request has a body not read to its end (Kestrel marks the trailers available at the end).</summary>
    private static bool HasUnreadBody(HttpContext request) =>
        request.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true }
        && request.Features.Get<IHttpRequestTrailersFeature>() is { Available: false };
}
