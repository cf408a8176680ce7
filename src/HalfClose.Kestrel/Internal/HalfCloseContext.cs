using Microsoft.Extensions.Logging;

namespace HalfClose.Kestrel.Internal;

/// <summary>What every connection of one endpoint shares: the policy source, logging, metrics and time.</summary>
internal sealed class HalfCloseContext(
    HalfClosePolicySource source, ILogger logger, HalfCloseMetrics metrics, TimeProvider time, bool tracksRequests, SocketWatcher? watcher = null)
{
    /// <summary>How often a half-open connection's socket is checked for a reset from the client.</summary>
    public static readonly TimeSpan ResetCheckInterval = TimeSpan.FromMilliseconds(200);

    public HalfClosePolicySource Source { get; } = source;

    public ILogger Logger { get; } = logger;

    public HalfCloseMetrics Metrics { get; } = metrics;

    public TimeProvider Time { get; } = time;

    /// <summary>When this context was made, on <see cref="Time"/>: the origin of <see cref="Now"/>.</summary>
    private readonly long _origin = time.GetTimestamp();

    /// <summary>How half-open connections' sockets are watched for a later reset.</summary>
    public SocketWatcher Watcher { get; } = watcher ?? SocketWatcher.Native;

    /// <summary>Reads a half-open connection's TCP state with <see cref="Watcher"/> (a test puts a fake in its place).</summary>
    public Func<System.Net.Sockets.Socket?, TcpState> SocketState { get; init; } = socket => (watcher ?? SocketWatcher.Native).Read(socket, logger);

    /// <summary>Whether requests are tracked (the web host's <c>UseHalfClosePolicy</c> adds the request middleware): phases are known.</summary>
    public bool TracksRequests { get; } = tracksRequests;

    /// <summary>
    /// Whether the socket transport may send a connection's bytes while the policy keeps only its close, where the
    /// transport's output can be watched until sent (<see cref="TransportPipe.CanWatch"/> decides per connection), rather
    /// than the policy's own send path.
    /// </summary>
    public bool WatchesTransportOutput { get; init; } = true;

    /// <summary>
    /// The time since this context was made: the connections' clock, whose readings only count as differences (a wait's
    /// start, its deadline). One origin for every connection, so that a connection reads the clock only when it waits.
    /// </summary>
    public TimeSpan Now() => Time.GetElapsedTime(_origin);
}
