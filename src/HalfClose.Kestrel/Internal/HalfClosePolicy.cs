namespace HalfClose.Kestrel.Internal;

/// <summary>
/// A validated, immutable snapshot of <see cref="HalfClosePolicyOptions"/> and the decisions it makes.
/// Pure: no I/O, no clock.
/// </summary>
internal sealed record HalfClosePolicy(
    ClientFinMode ClientFin,
    ClientFinMode TlsClientFin,
    PipelinedRequestsMode PipelinedRequests,
    TimeSpan HalfOpenTimeout)
{
    public static HalfClosePolicy Default { get; } = From(new HalfClosePolicyOptions());

    public static HalfClosePolicy From(HalfClosePolicyOptions options) => new(
        options.ClientFin,
        options.TlsClientFin ?? options.ClientFin,
        options.PipelinedRequests,
        options.HalfOpenTimeout);

    /// <summary>How the end of the transport's receive side is read from the socket's TCP state.</summary>
    public static TransportEnd Classify(TcpState state) =>
        state == TcpState.CloseWait ? TransportEnd.ClientFin : TransportEnd.Closed;

    /// <summary>What to do with the client's FIN on this connection.</summary>
    public FinAction OnClientFin(bool isTls, bool isMultiplexed)
    {
        if (isMultiplexed)
        {
            return FinAction.Bypass;
        }

        var mode = isTls ? TlsClientFin : ClientFin;
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
}
