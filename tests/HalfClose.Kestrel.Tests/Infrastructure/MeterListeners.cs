namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>
/// Tests that hold a process-wide meter listener (OpenTelemetry's, which enables every meter named HalfClose.Kestrel,
/// whatever its scope), and tests that assert an instrument is not enabled when a connection starts: one after the
/// other, never side by side, so that the one cannot enable the other's instruments.
/// </summary>
[CollectionDefinition(Name)]
public sealed class MeterListeners
{
    public const string Name = "Meter listeners";
}
