using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>The facet the application sees: <see cref="IHalfCloseFeature"/>.</summary>
internal sealed partial class HalfCloseConnection : IHalfCloseFeature
{
    private CancellationTokenSource? _halfClosedSource;
    private volatile bool _clientHalfClosed;

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
        if (_output is null || _connection.Features.Find<ITlsConnectionFeature>() is not null
            || (_shared.TracksRequests && !Facts.Has(RequestFacts.Upgraded)))
        {
            return false;
        }

        Task<bool> finSent;
        lock (Gate)
        {
            // Once closed, the send path may already serve another connection.
            if (_machine.State == ConnectionState.Closed)
            {
                return false;
            }

            finSent = _output.ShutdownSendAsync();
        }

        if (!await finSent.WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        Run(static (ref machine, now, _) => machine.SendShutDown(now));
        return true;
    }

    /// <summary>
    /// Whether the connection speaks HTTP/2 (ALPN <c>h2</c>). A FIN that came with the TLS handshake finds it unfinished:
    /// no protocol is known yet, and nothing is in flight that HTTP/2 could lose, so it is taken as HTTP/1.x.
    /// </summary>
    private bool IsMultiplexed()
    {
        try
        {
            return _connection.Features.Find<ITlsApplicationProtocolFeature>() is { } alpn && alpn.ApplicationProtocol.Span.SequenceEqual("h2"u8);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            return false;
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
            _telemetry.UnexpectedError(ex);
        }
    }
}
