namespace HalfClose.Kestrel.Internal;

/// <summary>Marks the app-wide policy in the service collection and carries its code configuration.</summary>
internal sealed class HalfClosePolicyRegistration(Action<HalfClosePolicyOptions>? configure)
{
    public Action<HalfClosePolicyOptions>? Configure { get; } = configure;
}
