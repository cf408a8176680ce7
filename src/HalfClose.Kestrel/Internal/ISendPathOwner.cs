namespace HalfClose.Kestrel.Internal;

/// <summary>The connection a send path (<see cref="ISendPath"/>) serves, as it sees it.</summary>
internal interface ISendPathOwner
{
    /// <summary>
    /// Kestrel has completed the send path and its last byte is sent: true when the owner handed the rest of the close to
    /// the transport there and then (nothing can call for a lingering close), so that the socket closes as it would without
    /// the policy, as soon as Kestrel is done.
    /// </summary>
    bool TryHandOverClose();
}
