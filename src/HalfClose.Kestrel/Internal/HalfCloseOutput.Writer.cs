using System.IO.Pipelines;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The writer Kestrel holds: the send path's pipe; or the transport's own output, once <see cref="TryPassThrough"/> has
/// handed the connection to the transport (then Kestrel writes as if the policy owned nothing), or from the start where the
/// transport's output is watched (then only Kestrel's completion stops here: the close stays the policy's).
/// </summary>
internal sealed partial class HalfCloseOutput
{
    private const int NotStarted = 0;
    private const int Running = 1;
    private const int PassedThrough = 2;
    private const int Watching = 3;

    private int _loopState;
    private bool _watched;
    private volatile bool _writerDone;
    private Task? _finalFlush;

    /// <summary>
    /// Before anything was written (no byte of the send path's can be behind the transport's), hands the connection's bytes
    /// and its close to the transport: for a connection that can call for no linger. False once anything was written.
    /// On the writer's own thread, between its writes.
    /// </summary>
    public bool TryPassThrough()
    {
        if (Volatile.Read(ref _loopState) == Watching)
        {
            // The transport has every byte already, in order: only the close moves to it.
            if (_finRequest is not null || Interlocked.CompareExchange(ref _loopState, PassedThrough, Watching) != Watching)
            {
                return false;
            }

            _handedOver = true;
            return true;
        }

        if (_transportOutput is null || _pipe.Writer.UnflushedBytes != 0
            || Interlocked.CompareExchange(ref _loopState, PassedThrough, NotStarted) != NotStarted)
        {
            return false;
        }

        _writer.Target = _transportOutput;
        _handedOver = true;

        // No loop ran, none will: the close has nothing to wait for, and the send path goes back to the pool as it is.
        _pipe.Writer.Complete();
        _pipe.Reader.Complete();
        Interlocked.Exchange(ref _loopEnded, 1);
        return true;
    }

    /// <summary>The first flush (or completion) starts the loop, inline: its read waits, and the flush wakes it on its queue.</summary>
    private void EnsureStarted()
    {
        if (Volatile.Read(ref _loopState) == NotStarted && Interlocked.CompareExchange(ref _loopState, Running, NotStarted) == NotStarted)
        {
            Continue(haveResult: false);
        }
    }

    /// <summary>
    /// Kestrel completed its writer while the transport's output is watched: true when that stops here. An abort, or a close
    /// the owner hands over at once (nothing can call for a linger), goes on to the transport, which closes as it would.
    /// </summary>
    private bool StopsCompletion(Exception? exception)
    {
        if (Volatile.Read(ref _loopState) != Watching)
        {
            return false;
        }

        if (exception is not null)
        {
            _failed = true;
            return !TryPassThrough();
        }

        _writerDone = true;
        var target = _writer.Target;
        if (target.CanGetUnflushedBytes && target.UnflushedBytes > 0)
        {
            // Kestrel flushes before it completes; should it not have, its last bytes are flushed before anything waits on them.
            var flush = target.FlushAsync();
            _finalFlush = flush.IsCompletedSuccessfully ? null : flush.AsTask();
        }

        if (_finalFlush is null && _owner?.TryHandOverClose() == true)
        {
            // The owner completed the transport's output.
            _handedOver = true;
            Interlocked.CompareExchange(ref _loopState, PassedThrough, Watching);
        }

        return true;
    }

    /// <summary>
    /// Completes once the transport has handed the socket every byte Kestrel gave it: at once, mostly (the transport's send
    /// loop ran after Kestrel's last flush); otherwise looked at again after a yield, then at growing intervals. A transport
    /// that closes meanwhile (a failed send, an abort) ends the wait with the output failed.
    /// </summary>
    private ValueTask SentByTransportAsync()
    {
        if (!_writerDone && !StopsCompletion(exception: null))
        {
            return default;
        }

        if (_handedOver || (_finalFlush is null && TransportOutput.Unsent(_transportOutput!) == 0))
        {
            return default;
        }

        return WaitSentAsync();
    }

    private async ValueTask WaitSentAsync()
    {
        var (transport, transportClosed) = (_transportOutput!, _transportClosed);
        if (_finalFlush is { } flush)
        {
            try
            {
                await flush.ConfigureAwait(false);
            }
            catch (Exception)
            {
                _failed = true;
                return;
            }
        }

        for (var looks = 0; TransportOutput.Unsent(transport) != 0; looks++)
        {
            if (transportClosed.IsCancellationRequested)
            {
                _failed = true;
                return;
            }

            if (looks < 4)
            {
                await Task.Yield();
            }
            else
            {
                await Task.Delay(Math.Min(1 << (looks - 4), 50)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>FIN once the transport has sent every byte it was given (<see cref="ShutdownSendAsync"/>, on a watched output).</summary>
    private async Task FinOnceSentAsync(TaskCompletionSource<bool> request)
    {
        try
        {
            await WaitSentAsync().ConfigureAwait(false);
            request.TrySetResult(!_failed && SendFin());
        }
        catch (Exception)
        {
            request.TrySetResult(false);
        }
    }

    /// <summary>Takes what is written after the application shut the send direction down, and drops it.</summary>
    private sealed class DiscardingWriter : PipeWriter
    {
        private byte[] _buffer = [];

        public override bool CanGetUnflushedBytes => true;

        public override long UnflushedBytes => 0;

        public override void Advance(int bytes)
        {
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => Buffer(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => Buffer(sizeHint);

        public override void CancelPendingFlush()
        {
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => default;

        public override void Complete(Exception? exception = null)
        {
        }

        private byte[] Buffer(int sizeHint) => _buffer.Length >= Math.Max(sizeHint, 1) ? _buffer : _buffer = new byte[Math.Max(sizeHint, 4096)];
    }

    /// <summary>Forwards to the pipe, or, once passed through, to the transport's output.</summary>
    private sealed class ForwardingWriter(HalfCloseOutput output) : PipeWriter
    {
        public PipeWriter Target { get; set; } = null!;

        public override bool CanGetUnflushedBytes => Target.CanGetUnflushedBytes;

        public override long UnflushedBytes => Target.UnflushedBytes;

        public override void Advance(int bytes) => Target.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => Target.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => Target.GetSpan(sizeHint);

        public override void CancelPendingFlush() => Target.CancelPendingFlush();

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            output.EnsureStarted();
            return Target.FlushAsync(cancellationToken);
        }

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            output.EnsureStarted();
            return Target.WriteAsync(source, cancellationToken);
        }

        public override void Complete(Exception? exception = null)
        {
            if (output.StopsCompletion(exception))
            {
                return;
            }

            output.EnsureStarted();
            Target.Complete(exception);
        }
    }
}
