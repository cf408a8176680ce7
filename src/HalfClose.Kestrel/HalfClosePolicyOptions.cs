namespace HalfClose.Kestrel;

/// <summary>
/// The half-close policy, bound from the <c>HalfClose</c> configuration section. Validated at start;
/// a change applies to connections accepted after it.
/// </summary>
public sealed class HalfClosePolicyOptions
{
    /// <summary>The configuration section the options are bound from: <c>HalfClose</c>.</summary>
    public const string SectionName = "HalfClose";

    /// <summary>What a client FIN means on a cleartext HTTP/1.x connection. Default: <see cref="ClientFinMode.Serve"/>.</summary>
    public ClientFinMode ClientFin { get; set; } = ClientFinMode.Serve;

    /// <summary>What a client FIN means on a TLS HTTP/1.x connection. Default: <c>null</c>, the same as <see cref="ClientFin"/>.</summary>
    public ClientFinMode? TlsClientFin { get; set; }

    /// <summary>
    /// What happens to pipelined requests already received before the FIN, under <see cref="ClientFinMode.Serve"/>.
    /// Default: <see cref="PipelinedRequestsMode.Serve"/>.
    /// </summary>
    public PipelinedRequestsMode PipelinedRequests { get; set; } = PipelinedRequestsMode.Serve;

    /// <summary>
    /// The longest a connection may stay half-closed. When it passes, the connection is closed, the request's
    /// <c>RequestAborted</c> token is cancelled and the event is logged. Default: 30 seconds; at most 1 day.
    /// </summary>
    public TimeSpan HalfOpenTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How the server closes when it closes first and the client may still be sending (an early response to an upload,
    /// <c>Connection: close</c> with more requests in flight). Default: <see cref="LingerMode.Drain"/>.
    /// Applies where the policy sits on the socket's transport (added before <c>UseHttps()</c>, or on a cleartext endpoint).
    /// </summary>
    public LingerMode Linger { get; set; } = LingerMode.Drain;

    /// <summary>The longest a lingering close reads and discards (nginx <c>lingering_time</c>). Default: 30 seconds.</summary>
    public TimeSpan LingerTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest a lingering close waits for the next bytes from the client (nginx <c>lingering_timeout</c>).
    /// Default: 5 seconds; at most <see cref="LingerTime"/>.
    /// </summary>
    public TimeSpan LingerTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The most bytes a lingering close discards before it closes with RST. Default: <c>null</c>, no cap (the time bounds limit it).</summary>
    public long? LingerMaxBytes { get; set; }
}
