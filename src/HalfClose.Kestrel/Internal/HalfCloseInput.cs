using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The connection's input, and the one place that settles how it ended. The transport completes its input cleanly on the
/// client's FIN and with an error on a reset or a server abort, on every platform; whichever looks first, the application's
/// read or <see cref="Probe"/> (when the transport says it has closed and nobody is reading), settles the end once.
/// </summary>
/// <remarks>
/// The end is shown to the reader only once it has examined every byte before it (<see cref="HiddenEnd"/>), but for a
/// read that waits for a request's head (<see cref="IInputEndListener.WaitsForRequestHead"/>): the reader awaits the
/// transport's own read, unseen here, and an end it brought is looked for as the reader advances past it.
/// With <paramref name="keepInnerOpen"/>, completing this reader leaves the transport's input open for a lingering close.
/// With <paramref name="readAhead"/> (above a TLS layer, which reads the socket only when asked), a probe that finds
/// nothing reads ahead itself, and the application's next read joins that read.
/// </remarks>
internal sealed partial class HalfCloseInput(PipeReader inner, IInputEndListener? endListener = null, bool keepInnerOpen = false, bool readAhead = false)
    : PipeReader, IValueTaskSource<ReadResult>
{
    private const int Idle = 0;
    private const int Reading = 1;
    private const int Probing = 2;
    private const int ReadingAhead = 3;
    private const int Done = 4;

    // Whether the transport's input is a pipe whose unexamined bytes can be counted: a read can then be left unseen.
    private readonly bool _countable = TransportPipe.CanCount(inner);

    // The transport's source of the read it completes later, which this reader's own read is handed through to.
    private IValueTaskSource<ReadResult>? _handedThrough;
    private HiddenEnd _hiddenEnd;
    private bool _readBefore;
    private int _end;

    /// <summary>How the input ended, once settled.</summary>
    public InputEnd End => (InputEnd)Volatile.Read(ref _end);

    /// <summary>Whether the application's reader has completed: it reads nothing more, and how the input ends no longer matters to it.</summary>
    public bool IsReaderDone => Volatile.Read(ref _readerState) == Done;

    /// <summary>The transport's input, under this reader.</summary>
    public PipeReader Inner => inner;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        NoteFirstRead();
        if (!BeginRead())
        {
            // Joined the probe's read-ahead: it completes this read.
            return _ahead!.JoinedRead;
        }

        ValueTask<ReadResult> read;
        try
        {
            if (_cancelPending)
            {
                // A cancellation the read-ahead consumed belongs to this read.
                _cancelPending = false;
                inner.CancelPendingRead();
            }

#pragma warning disable CA2012 // Consumed once: completed, handed through (the application awaits its source), or awaited.
            read = inner.ReadAsync(cancellationToken);
#pragma warning restore CA2012
            if (read.IsCompleted)
            {
                return new ValueTask<ReadResult>(Reveal(read.Result, readerWasWaiting: false));
            }

            if (_countable && endListener?.WaitsForRequestHead == true)
            {
                // Waiting for a request's head, the reader needs no end hidden: it awaits the transport's read itself (no
                // source of this reader's between them), and an end that read brings is looked for as it advances past it.
                _readUnseen = true;
                _endUnlooked = true;
                return read;
            }

            // The transport's pipe hands out the same source for every read: stored once, not at every read.
            if (PendingRead.SourceOf(read, _handedThrough, out var token) is { } source)
            {
                if (!ReferenceEquals(source, _handedThrough))
                {
                    _handedThrough = source;
                }

                return new ValueTask<ReadResult>(this, token);
            }
        }
        catch (Exception ex)
        {
            Failed(ex);
            throw;
        }

        return AwaitInnerAsync(read);
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token)
    {
        ReadResult result;
        try
        {
            result = _handedThrough!.GetResult(token);
        }
        catch (Exception ex)
        {
            Failed(ex);
            throw;
        }

        return Reveal(result, readerWasWaiting: true);
    }

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _handedThrough!.GetStatus(token);

    // The application's continuation goes to the transport's pipe as it is: the pipe queues the application's state machine
    // to the thread pool as it would without the policy, with nothing allocated and no state machine of this reader's.
    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _handedThrough!.OnCompleted(continuation, state, token, flags);

    public override bool TryRead(out ReadResult result)
    {
        NoteFirstRead();
        if (Volatile.Read(ref _readerState) == ReadingAhead)
        {
            // The read-ahead holds the input: nothing to hand out without waiting.
            result = default;
            return false;
        }

        BeginRead();
        try
        {
            if (!inner.TryRead(out result))
            {
                EndRead();
                return false;
            }
        }
        catch (Exception ex)
        {
            Failed(ex);
            throw;
        }

        result = Reveal(result, readerWasWaiting: false);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _hiddenEnd.Advanced(examined);
        if (_readUnseen)
        {
            AdvanceUnseen(consumed, examined);
            return;
        }

        inner.AdvanceTo(consumed, examined);
        if (consumed.Equals(examined))
        {
            // It consumed what it examined (a whole head, when Kestrel parsed one): the request, if it is one, runs next on
            // this thread. Told for a body's read as well: the connection's next request takes it only as its own.
            endListener?.OnHeadTaken();
        }

        EndRead();
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null)
    {
        // An end an unseen read brought is looked for while the transport's input still tells it.
        LookBeforeClose();

        // A read-ahead's completion decides under its gate whether it is joined: the reader's end must not slip in between.
        int previous;
        if (Volatile.Read(ref _ahead) is { } ahead)
        {
            lock (ahead.Gate)
            {
                previous = Interlocked.Exchange(ref _readerState, Done);
            }
        }
        else
        {
            previous = Interlocked.Exchange(ref _readerState, Done);
        }

        if (previous == ReadingAhead)
        {
            // The read-ahead completes the input when it returns.
            inner.CancelPendingRead();
        }
        else if (!keepInnerOpen)
        {
            inner.Complete(exception);
        }

        if (previous != Done)
        {
            endListener?.OnReaderDone();
        }
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        Complete(exception);
        return default;
    }

    /// <summary>The reader's first look at the input, by either read.</summary>
    private void NoteFirstRead()
    {
        if (!_readBefore)
        {
            _readBefore = true;
            endListener?.OnFirstRead();
        }
    }

    /// <summary>
    /// A read the transport completes later through a task, not a source it can be handed through to. An async method,
    /// pooled: the application's continuation runs on inline from it, with no hop of its own.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> AwaitInnerAsync(ValueTask<ReadResult> read)
    {
        ReadResult result;
        try
        {
            result = await read.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Failed(ex);
            throw;
        }

        return Reveal(result, readerWasWaiting: true);
    }

    /// <summary>A read failed: no <c>AdvanceTo</c> follows it. The transport's error is how the input ended.</summary>
    private void Failed(Exception ex)
    {
        if (InputEnds.Classify(ex) is { } end)
        {
            Settle(end, InputRemainder.None, readerWasWaiting: true);
        }

        EndRead();
    }

    private ReadResult Reveal(ReadResult result, bool readerWasWaiting)
    {
        if (!result.IsCompleted)
        {
            return result;
        }

        Settle(InputEnd.ClientFin, InputEnds.Remainder(result.Buffer), readerWasWaiting);
        return _hiddenEnd.Show(result);
    }

    private void Settle(InputEnd end, InputRemainder remainder, bool readerWasWaiting)
    {
        if (Interlocked.CompareExchange(ref _end, (int)end, (int)InputEnd.None) == (int)InputEnd.None)
        {
            endListener?.OnInputEnded(end, remainder, readerWasWaiting);
        }
    }
}
