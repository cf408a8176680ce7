namespace HalfClose.Kestrel;

/// <summary>
/// Endpoint metadata: the client-FIN policy of the endpoint's requests. When the client's FIN arrives while a request
/// of this endpoint is in flight, <see cref="ClientFin"/> decides, on cleartext and TLS alike, instead of the connection's
/// <see cref="HalfClosePolicyOptions.ClientFin"/> and <see cref="HalfClosePolicyOptions.TlsClientFin"/>. A FIN between
/// requests gets the connection's policy. Needs <c>builder.WebHost.UseHalfClosePolicy()</c>, which tracks requests.
/// </summary>
public interface IHalfClosePolicyMetadata
{
    /// <summary>What a client FIN means while a request of the endpoint is in flight.</summary>
    ClientFinMode ClientFin { get; }
}
