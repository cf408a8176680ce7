namespace HalfClose.Kestrel.Internal;

/// <summary>The feature of a connection the policy passes through untouched (HTTP/2, not a TCP socket).</summary>
internal sealed class UnsupportedHalfCloseFeature : IHalfCloseFeature
{
    public static UnsupportedHalfCloseFeature Instance { get; } = new();

    public bool IsSupported => false;

    public bool IsClientHalfClosed => false;

    public CancellationToken ClientHalfClosed => CancellationToken.None;
}
