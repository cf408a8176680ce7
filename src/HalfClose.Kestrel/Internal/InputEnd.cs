namespace HalfClose.Kestrel.Internal;

/// <summary>How the client's input ended, as the transport completed it: the one source of truth for FIN versus reset.</summary>
internal enum InputEnd : byte
{
    /// <summary>Not ended yet.</summary>
    None,

    /// <summary>Completed without an error: a 0-byte receive, the client's FIN (on every platform).</summary>
    ClientFin,

    /// <summary>Completed with a reset (<c>ConnectionResetException</c>, or a TLS layer's I/O error).</summary>
    Reset,

    /// <summary>Completed because the server closed or aborted the connection itself (<c>ConnectionAbortedException</c>).</summary>
    ServerClosed,
}
