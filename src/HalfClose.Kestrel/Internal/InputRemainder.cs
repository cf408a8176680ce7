namespace HalfClose.Kestrel.Internal;

/// <summary>What was left unread in the input when the client's FIN arrived.</summary>
internal enum InputRemainder
{
    /// <summary>Nothing: the reader had consumed everything.</summary>
    None,

    /// <summary>Bytes without a complete header block: part of a request line or headers.</summary>
    Partial,

    /// <summary>At least one complete header block: a whole request not yet started.</summary>
    Headers,
}
