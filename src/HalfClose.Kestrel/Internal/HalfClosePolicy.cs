namespace HalfClose.Kestrel.Internal;

/// <summary>
/// A validated, immutable snapshot of <see cref="HalfClosePolicyOptions"/> and the decisions it makes.
/// Pure: no I/O, no clock.
/// </summary>
internal sealed record HalfClosePolicy(
    ClientFinMode ClientFin,
    ClientFinMode TlsClientFin,
    PipelinedRequestsMode PipelinedRequests,
    TimeSpan HalfOpenTimeout,
    LingerMode Linger,
    TimeSpan LingerTime,
    TimeSpan LingerTimeout,
    long? LingerMaxBytes)
{
    public static HalfClosePolicy Default { get; } = From(new HalfClosePolicyOptions());

    public static HalfClosePolicy From(HalfClosePolicyOptions options) => new(
        options.ClientFin,
        options.TlsClientFin ?? options.ClientFin,
        options.PipelinedRequests,
        options.HalfOpenTimeout,
        options.Linger,
        options.LingerTime,
        options.LingerTimeout,
        options.LingerMaxBytes);

    /// <summary>
    /// While the connection is half-open (the client's FIN seen, the server's not sent), whether the socket's TCP state shows
    /// it gone: the client reset it, or the transport closed it under the connection (a server abort, at shutdown say),
    /// which Kestrel must learn as well. A half-closed client's socket stays in CLOSE-WAIT; a state that cannot be read says nothing.
    /// </summary>
    public static bool ShowsReset(TcpState state) => state is not (TcpState.CloseWait or TcpState.Unknown);

    /// <summary>
    /// What to do with the client's FIN on this connection; <paramref name="endpointClientFin"/>, the policy of the endpoint
    /// whose request is in flight (<see cref="IHalfClosePolicyMetadata"/>), replaces the connection's for cleartext and TLS alike.
    /// </summary>
    public FinAction OnClientFin(bool isTls, bool isMultiplexed, ClientFinMode? endpointClientFin = null)
    {
        if (isMultiplexed)
        {
            return FinAction.Bypass;
        }

        var mode = endpointClientFin ?? (isTls ? TlsClientFin : ClientFin);
        if (mode == ClientFinMode.Abort)
        {
            return FinAction.Abort;
        }

        return PipelinedRequests == PipelinedRequestsMode.Discard ? FinAction.ServeInFlightOnly : FinAction.Serve;
    }

    /// <summary>How long to wait before the next look at a half-open connection.</summary>
    public TimeSpan NextCheck(TimeSpan halfOpenFor, TimeSpan resetCheckInterval)
    {
        var remaining = HalfOpenTimeout - halfOpenFor;
        if (remaining <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        return remaining < resetCheckInterval ? remaining : resetCheckInterval;
    }

    /// <summary>How to close when the server is done: <paramref name="clientMaySend"/> is false once the client's FIN arrived,
    /// or when nothing is left unread and nothing is arriving.</summary>
    public CloseAction OnServerClose(bool clientMaySend)
    {
        if (Linger == LingerMode.Off || !clientMaySend)
        {
            return CloseAction.Close;
        }

        return Linger == LingerMode.Reject ? CloseAction.Reset : CloseAction.Drain;
    }

    /// <summary>How long a lingering close waits for the next bytes; zero once <see cref="LingerTime"/> has passed.</summary>
    public TimeSpan NextLingerWait(TimeSpan lingeringFor)
    {
        var remaining = LingerTime - lingeringFor;
        if (remaining <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        return remaining < LingerTimeout ? remaining : LingerTimeout;
    }

    /// <summary>Whether a lingering close has discarded more than it may.</summary>
    public bool IsOverLingerCap(long drained) => LingerMaxBytes is { } cap && drained > cap;
}
