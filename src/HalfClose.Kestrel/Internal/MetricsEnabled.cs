namespace HalfClose.Kestrel.Internal;

/// <summary>Which of the meter's instruments had a listener when a connection started.</summary>
[Flags]
internal enum MetricsEnabled
{
    None = 0,
    ClientFins = 1,
    RequestsAfterFin = 2,
    HalfOpen = 4,
    HalfOpenDuration = 8,
    Lingers = 16,
    LingerDuration = 32,
    LingerDrained = 64,
}
