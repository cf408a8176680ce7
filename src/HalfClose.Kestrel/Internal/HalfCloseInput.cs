using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The connection's input as a socket would show it: the client's FIN is reported only once the reader has
/// examined every byte that arrived before it. Kestrel's HTTP/1.x body readers treat a completed read as a
/// truncated body even when the rest of the body is in the buffer; with this reader they see the body, then the end.
/// </summary>
/// <remarks>
/// With <paramref name="keepInnerOpen"/>, completing this reader leaves the transport's input open: the policy reads
/// and discards from it during a lingering close.
/// </remarks>
internal sealed class HalfCloseInput(PipeReader inner, IInputEndListener? endListener = null, bool keepInnerOpen = false)
    : PipeReader, IValueTaskSource<ReadResult>
{
    // A pending read completes through this source: no state machine, no allocation (one read is outstanding at a time).
    private ManualResetValueTaskSourceCore<ReadResult> _pendingRead;
    private ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter _innerRead;
    private Action? _onInnerRead;
    private ReadOnlySequence<byte> _hiddenBuffer;
    private bool _hiding;
    private bool _endExamined;
    private bool _endSeen;
    private volatile bool _awaitingData;

    /// <summary>Whether the reader is waiting for data: an end of input will reach it (and the listener) at once.</summary>
    public bool IsAwaitingData => _awaitingData;

    /// <summary>Whether the reader has been shown the input's clean end (the client's FIN).</summary>
    public bool EndSeen => Volatile.Read(ref _endSeen);

    /// <summary>The transport's input, under this reader.</summary>
    public PipeReader Inner => inner;

    /// <summary>What the reader had not yet consumed when the end arrived; set before the listener is told.</summary>
    public InputRemainder RemainderAtEnd { get; private set; }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var read = inner.ReadAsync(cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            return new ValueTask<ReadResult>(Reveal(read.Result));
        }

        _awaitingData = true;
        _pendingRead.Reset();
        _innerRead = read.ConfigureAwait(false).GetAwaiter();
        _innerRead.UnsafeOnCompleted(_onInnerRead ??= OnInnerRead);
        return new ValueTask<ReadResult>(this, _pendingRead.Version);
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _pendingRead.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _pendingRead.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _pendingRead.OnCompleted(continuation, state, token, flags);

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result))
        {
            return false;
        }

        result = Reveal(result);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_hiding)
        {
            // Before the inner AdvanceTo: it may return the buffer's segments to the pool.
            _endExamined = _hiddenBuffer.Slice(examined).IsEmpty;
            _hiding = false;
            _hiddenBuffer = default;
        }

        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null)
    {
        if (!keepInnerOpen)
        {
            inner.Complete(exception);
        }
    }

    public override ValueTask CompleteAsync(Exception? exception = null) => keepInnerOpen ? default : inner.CompleteAsync(exception);

    private void OnInnerRead()
    {
        ReadResult result;
        try
        {
            result = Reveal(_innerRead.GetResult());
        }
        catch (Exception ex)
        {
            _awaitingData = false;
            _innerRead = default;
            _pendingRead.SetException(ex);
            return;
        }

        _awaitingData = false;
        _innerRead = default;
        _pendingRead.SetResult(result);
    }

    private ReadResult Reveal(ReadResult result)
    {
        if (!result.IsCompleted)
        {
            return result;
        }

        if (!_endSeen)
        {
            Volatile.Write(ref _endSeen, true);
            RemainderAtEnd = Remainder(result.Buffer);
            endListener?.OnInputEnded();
        }

        if (result.Buffer.IsEmpty || _endExamined)
        {
            return result;
        }

        _hiding = true;
        _hiddenBuffer = result.Buffer;
        return new ReadResult(result.Buffer, result.IsCanceled, isCompleted: false);
    }

    private static InputRemainder Remainder(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return InputRemainder.None;
        }

        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8) ? InputRemainder.Headers : InputRemainder.Partial;
    }
}
