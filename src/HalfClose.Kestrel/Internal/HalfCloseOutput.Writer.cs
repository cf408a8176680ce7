using System.IO.Pipelines;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The writer Kestrel holds: the send path's pipe; or the transport's own output, once <see cref="TryPassThrough"/> has
/// handed the connection to the transport (then Kestrel writes as if the policy owned nothing).
/// </summary>
internal sealed partial class HalfCloseOutput
{
    private const int NotStarted = 0;
    private const int Running = 1;
    private const int PassedThrough = 2;

    private int _loopState;

    /// <summary>
    /// Before anything was written (no byte of the send path's can be behind the transport's), hands the connection's bytes
    /// and its close to the transport: for a connection that can call for no linger. False once anything was written.
    /// On the writer's own thread, between its writes.
    /// </summary>
    public bool TryPassThrough()
    {
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
            output.EnsureStarted();
            Target.Complete(exception);
        }
    }
}
