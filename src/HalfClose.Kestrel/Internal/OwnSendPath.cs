namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Registered as a service (the suite's portable build does), every connection sends through the policy's own send path,
/// as on a runtime whose transport output cannot be watched (<see cref="TransportPipe"/>).
/// </summary>
internal sealed class OwnSendPath;
