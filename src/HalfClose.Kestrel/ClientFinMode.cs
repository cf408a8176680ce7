namespace HalfClose.Kestrel;

/// <summary>What the server does when an HTTP/1.x client half-closes (sends TCP FIN) its side of the connection.</summary>
public enum ClientFinMode
{
    /// <summary>
    /// Keep the send side open: the request in flight completes and its response is written in full,
    /// then the server closes with FIN. <c>HttpContext.RequestAborted</c> does not fire for a mere half-close.
    /// </summary>
    Serve = 0,

    /// <summary>Kestrel's own behaviour: a FIN aborts the connection and the response is dropped.</summary>
    Abort = 1,
}
