namespace HalfClose.Kestrel.Internal;

/// <summary>Told once, when the connection's input has settled how it ended.</summary>
internal interface IInputEndListener
{
    /// <param name="end">How it ended.</param>
    /// <param name="remainder">What the reader had not consumed when it ended.</param>
    /// <param name="readerWasWaiting">Whether the end reached a read the reader had outstanding (it was waiting for more).</param>
    void OnInputEnded(InputEnd end, InputRemainder remainder, bool readerWasWaiting);

    /// <summary>The reader reads for the first time (Kestrel has begun its first request, unless the reader is a TLS layer).</summary>
    void OnFirstRead()
    {
    }

    /// <summary>
    /// Whether the reader's next read, should it wait, waits for the head of a request (none has begun, or the last one
    /// ended with its body read): the read's result then needs no hiding of the end, and is handed to the reader as the
    /// transport's own. False where bodies cannot be told apart from heads (requests are not tracked).
    /// </summary>
    bool WaitsForRequestHead => false;

    /// <summary>
    /// The reader advanced past all it examined, on this thread: a whole request's head, when Kestrel was reading one, and
    /// Kestrel goes on to run that request here (with nothing awaited between, its first middleware runs on this thread).
    /// Also told for other reads (a body's): a hint, taken only by a request that is this connection's.
    /// </summary>
    void OnHeadTaken()
    {
    }

    /// <summary>
    /// Nothing reads the input for its end any more: the reader completed, or the close took the input over. Told once,
    /// on the thread that made it so.
    /// </summary>
    void OnReaderDone()
    {
    }
}
