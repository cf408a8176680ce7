namespace HalfClose.Kestrel;

/// <summary>
/// Sets the client-FIN policy of an endpoint (a controller, an action, a minimal API handler), as
/// <see cref="IHalfClosePolicyMetadata"/>. <c>WithHalfClosePolicy</c> on an endpoint convention builder adds the same metadata.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method | AttributeTargets.Delegate, AllowMultiple = false, Inherited = true)]
public sealed class HalfClosePolicyAttribute : Attribute, IHalfClosePolicyMetadata
{
    /// <summary>Sets the endpoint's client-FIN policy.</summary>
    /// <param name="clientFin">What a client FIN means while a request of the endpoint is in flight.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clientFin"/> is not a defined <see cref="ClientFinMode"/>.</exception>
    public HalfClosePolicyAttribute(ClientFinMode clientFin)
    {
        if (!Enum.IsDefined(clientFin))
        {
            throw new ArgumentOutOfRangeException(nameof(clientFin), clientFin, $"Must be one of {string.Join(", ", Enum.GetNames<ClientFinMode>())}.");
        }

        ClientFin = clientFin;
    }

    /// <inheritdoc />
    public ClientFinMode ClientFin { get; }

    /// <inheritdoc />
    public override string ToString() => $"HalfClose.ClientFin = {ClientFin}";
}
