using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Settling the end without the application's reader: the transport said it closed, and nobody may be reading. The
/// reader's state (idle, reading, probing, reading ahead, done) is one integer moved by compare-and-swap; a probe never
/// reads while the application does, and the application's read waits out a probe's TryRead or joins its read-ahead.
/// </summary>
internal sealed partial class HalfCloseInput
{
    private InputReadAhead? _ahead;
    private int _readerState;
    private int _probeWanted;
    private bool _cancelPending;

    // The reader's current read is the transport's own (it waits for a request's head): its result is not seen here.
    private bool _readUnseen;

    // An unseen read may have brought the end, and nothing has looked for it since: the close looks (LookBeforeClose).
    private bool _endUnlooked;

    /// <summary>
    /// Looks for the end without the reader: settles it when the reader is idle, or leaves it to the reader's current read
    /// or its next <c>AdvanceTo</c>. Never blocks; safe from any thread.
    /// </summary>
    public void Probe()
    {
        if (End != InputEnd.None)
        {
            return;
        }

        // Asked before the reader's state is tried: a reader that ends its read meanwhile sees the request and probes.
        Interlocked.Exchange(ref _probeWanted, 1);
        if (Interlocked.CompareExchange(ref _readerState, Probing, Idle) != Idle)
        {
            return;
        }

        Interlocked.Exchange(ref _probeWanted, 0);
        if (Look(readerWasWaiting: false, consumedAny: false, readAheadIfNothing: readAhead))
        {
            // The read-ahead holds the reader now.
            return;
        }

        Interlocked.CompareExchange(ref _readerState, Idle, Probing);
    }

    /// <summary>
    /// One look at the input, the caller holding the reader: an end it shows (or the transport's error) is settled, bytes
    /// are left where they were (<see cref="Examine"/>). With <paramref name="readAheadIfNothing"/>, an input with nothing
    /// to show yet is read ahead. True when a read-ahead now holds the reader.
    /// </summary>
    private bool Look(bool readerWasWaiting, bool consumedAny, bool readAheadIfNothing = false)
    {
        try
        {
            if (inner.TryRead(out var result))
            {
                Examine(result, readerWasWaiting, consumedAny);
            }
            else if (readAheadIfNothing)
            {
                return StartReadAhead();
            }
        }
        catch (Exception ex) when (InputEnds.Classify(ex) is { } end)
        {
            Settle(end, InputRemainder.None, readerWasWaiting);
        }
        catch (InvalidOperationException)
        {
            // The input was completed under us: nothing more to learn from it.
        }

        return false;
    }

    /// <summary>
    /// The server's close takes the transport's input over (a lingering close reads it): the application's reader is done
    /// from now on, and no probe reads beside the close (the transport's close, or the client's FIN, would start one while
    /// the close reads). A probe's look in progress is waited out. Kestrel need not have completed its reader by then.
    /// </summary>
    public void HandOverToClose()
    {
        var spinner = default(SpinWait);
        while (true)
        {
            switch (Volatile.Read(ref _readerState))
            {
                case Done:
                    return;
                case Probing:
                    spinner.SpinOnce();
                    continue;
                case ReadingAhead:
                    // Above TLS (no lingering close there): as the reader's completion.
                    Complete();
                    return;
                case var state when Interlocked.CompareExchange(ref _readerState, Done, state) == state:
                    endListener?.OnReaderDone();
                    return;
            }
        }
    }

    /// <summary>
    /// Whether nothing is left unread: the transport's input holds no byte the reader has not consumed (what it was shown
    /// and left, or what came since). Looks like a probe (never while the reader reads); false when it cannot look, or the
    /// input failed.
    /// </summary>
    public bool HoldsNothingUnread()
    {
        // Done: the reader completed (or the close took the input over, and asks nothing more of it), and under the
        // policy's send path nobody else reads the transport's input.
        var claimed = Interlocked.CompareExchange(ref _readerState, Probing, Idle) == Idle;
        if (!claimed && Volatile.Read(ref _readerState) != Done)
        {
            return false;
        }

        try
        {
            if (!inner.TryRead(out var result))
            {
                return true;
            }

            var empty = result.Buffer.IsEmpty;
            inner.AdvanceTo(result.Buffer.Start, result.Buffer.Start);
            return empty;
        }
        catch (Exception)
        {
            // Completed under us, or with the transport's error: that end is for the reader or a probe to settle.
            return false;
        }
        finally
        {
            if (claimed && Interlocked.CompareExchange(ref _readerState, Idle, Probing) == Probing && Volatile.Read(ref _probeWanted) != 0)
            {
                Probe();
            }
        }
    }

    /// <summary>
    /// Kestrel is done reading, or the close takes the input over: an end an unseen read may have brought (its reader
    /// examined part of a head beyond what it consumed, or the read failed) is looked for now, before anything decides on
    /// it. Nothing to do unless the last unseen read went unlooked.
    /// </summary>
    public void LookBeforeClose()
    {
        if (!_endUnlooked)
        {
            return;
        }

        // A failed unseen read leaves its reader reading (no AdvanceTo follows a failure): that read is over.
        var state = Volatile.Read(ref _readerState);
        var claimable = state == Idle || (state == Reading && _readUnseen);
        if (!claimable || Interlocked.CompareExchange(ref _readerState, Probing, state) != state)
        {
            return;
        }

        _readUnseen = false;
        LookAfterUnseen(consumedAny: false);
        Interlocked.CompareExchange(ref _readerState, Idle, Probing);
    }

    /// <summary>
    /// The reader advances past a read it awaited unseen. Where it consumed all it examined (a whole request head, or an
    /// empty result), a look after it settles an end that read brought, as that read's: whether the reader took bytes
    /// from it tells the remainder. Where it examined beyond (part of a head), the reader has the end (Kestrel answers it
    /// 400), and the look is left to a probe or the close.
    /// </summary>
    private void AdvanceUnseen(SequencePosition consumed, SequencePosition examined)
    {
        _readUnseen = false;
        var unexamined = TransportPipe.Unexamined(inner);
        inner.AdvanceTo(consumed, examined);
        if (consumed.Equals(examined))
        {
            var consumedAny = TransportPipe.Unexamined(inner) < unexamined;
            LookAfterUnseen(consumedAny);
            if (consumedAny)
            {
                endListener?.OnHeadTaken();
            }
        }

        EndRead();
    }

    /// <summary>
    /// A look that settles an end the reader's last read, unseen, may have brought (the caller holds the reader).
    /// <paramref name="consumedAny"/>: the reader took bytes from that read (a whole head, as it consumed all it examined).
    /// </summary>
    private void LookAfterUnseen(bool consumedAny)
    {
        // Left unexamined, as the reader left it: it examined only what it consumed.
        _endUnlooked = false;
        Look(readerWasWaiting: true, consumedAny);
    }

    /// <summary>The application starts a read: false when it joined a read-ahead, which will complete it.</summary>
    private bool BeginRead()
    {
        var spinner = default(SpinWait);
        while (true)
        {
            switch (Interlocked.CompareExchange(ref _readerState, Reading, Idle))
            {
                case Probing:
                    // A probe holds the reader for one TryRead: wait it out rather than read concurrently with it.
                    spinner.SpinOnce();
                    continue;
                case ReadingAhead:
                    lock (_ahead!.Gate)
                    {
                        if (_readerState != ReadingAhead)
                        {
                            continue;
                        }

                        _ahead.Join();
                        _readerState = Reading;
                        return false;
                    }

                default:
                    return true;
            }
        }
    }

    private void EndRead()
    {
        if (Interlocked.CompareExchange(ref _readerState, Idle, Reading) == Reading && Volatile.Read(ref _probeWanted) != 0)
        {
            Probe();
        }
    }

    /// <summary>
    /// What a look's read found: the end, or bytes left for the reader (nothing consumed or examined). A probe's look
    /// finds the end beside the reader; a look after an unseen read finds it as that read's (<paramref name="readerWasWaiting"/>),
    /// where <paramref name="consumedAny"/> says the reader took a whole head from it.
    /// </summary>
    private void Examine(ReadResult result, bool readerWasWaiting = false, bool consumedAny = false)
    {
        if (result.IsCompleted)
        {
            Settle(InputEnd.ClientFin, consumedAny ? InputRemainder.Headers : InputEnds.Remainder(result.Buffer), readerWasWaiting);
        }

        if (result.IsCanceled)
        {
            _cancelPending = true;
        }

        inner.AdvanceTo(result.Buffer.Start, result.Buffer.Start);
    }

    /// <summary>Reads ahead (under a TLS layer that reads the socket only when asked); true while that read is pending.</summary>
    private bool StartReadAhead()
    {
        var read = inner.ReadAsync();
        if (read.IsCompleted)
        {
            Examine(read.Result);
            return false;
        }

        var ahead = Volatile.Read(ref _ahead) ?? Interlocked.CompareExchange(ref _ahead, new InputReadAhead(OnAheadRead), null) ?? _ahead;
        ahead.Read = read.ConfigureAwait(false).GetAwaiter();
        Interlocked.Exchange(ref _readerState, ReadingAhead);
        ahead.Read.UnsafeOnCompleted(ahead.OnCompleted);
        return true;
    }

    private void OnAheadRead()
    {
        ReadResult result = default;
        Exception? error = null;
        var ahead = _ahead!;
        try
        {
            result = ahead.Read.GetResult();
        }
        catch (Exception ex)
        {
            error = ex;
        }

        ahead.Read = default;
        bool joined;
        lock (ahead.Gate)
        {
            (joined, ahead.Joined) = (ahead.Joined, false);
            if (!joined && _readerState == ReadingAhead)
            {
                // Held while the result is looked at: an application read arriving now waits, then reads it again.
                _readerState = Probing;
            }
        }

        if (joined)
        {
            // The application's joined read gets the result, as if it had read itself.
            if (error is null)
            {
                ahead.Complete(Reveal(result, readerWasWaiting: true));
            }
            else
            {
                Failed(error);
                ahead.Fail(error);
            }

            return;
        }

        try
        {
            if (Volatile.Read(ref _readerState) == Done)
            {
                // The reader completed while the read-ahead was out: the input is completed now.
                if (!keepInnerOpen)
                {
                    inner.Complete();
                }
            }
            else if (error is null)
            {
                Examine(result);
            }
            else if (InputEnds.Classify(error) is { } end)
            {
                Settle(end, InputRemainder.None, readerWasWaiting: false);
            }
        }
        catch (InvalidOperationException)
        {
            // The input was completed under the read-ahead: nothing more to learn from it.
        }
        finally
        {
            Interlocked.CompareExchange(ref _readerState, Idle, Probing);
        }
    }
}
