using System.IO.Pipelines;
using System.Net.Sockets;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The send path where the socket transport's output can be watched (<see cref="TransportPipe"/>, this runtime's pipe):
/// Kestrel writes to the transport's output through this writer, and the transport sends every byte as it would without
/// the policy. Only Kestrel's completion stops here: the close stays the policy's, and waits until the transport has
/// nothing unsent. One small object a connection, with no pipe, no loop and no pool: a write costs one call more.
/// </summary>
internal sealed class WatchedOutput(PipeWriter transportOutput, Socket socket, ISendPathOwner? owner, CancellationToken transportClosed)
    : PipeWriter, ISendPath
{
    // Kestrel's writes go here: the transport's output, or nowhere once the application shut the send direction down.
    private PipeWriter? _discarding;
    private TaskCompletionSource<bool>? _finRequest;
    private Task? _finalFlush;
    private int _passedThrough;
    private bool _finSent;
    private volatile bool _writerDone;
    private volatile bool _failed;
    private volatile bool _handedOver;

    public PipeWriter Writer => this;

    private PipeWriter Target => _discarding ?? transportOutput;

    public bool Failed => _failed;

    public bool FinSent => Volatile.Read(ref _finSent);

    public bool HandedOver => _handedOver;

    public override bool CanGetUnflushedBytes => Target.CanGetUnflushedBytes;

    public override long UnflushedBytes => Target.UnflushedBytes;

    public void Start()
    {
    }

    /// <summary>The transport has every byte already, in order: only the close moves to it, unless a FIN was asked for.</summary>
    public bool TryPassThrough()
    {
        if (Volatile.Read(ref _finRequest) is not null || Interlocked.CompareExchange(ref _passedThrough, 1, 0) != 0)
        {
            return false;
        }

        _handedOver = true;
        return true;
    }

    public bool SendFin() => SendPaths.SendFin(socket, ref _finSent);

    public Task<bool> ShutdownSendAsync()
    {
        var request = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _finRequest, request, null) is { } earlier)
        {
            return earlier.Task;
        }

        // The transport sends: later bytes go nowhere, FIN follows once it has sent the earlier ones.
        _discarding = new DiscardingWriter();
        _ = FinOnceSentAsync(request);
        return request.Task;
    }

    /// <summary>
    /// Completes once the transport has handed the socket every byte Kestrel gave it: at once, mostly (the transport's send
    /// loop ran after Kestrel's last flush); otherwise looked at again after a yield, then at growing intervals. A transport
    /// that closes meanwhile (a failed send, an abort) ends the wait with the output failed.
    /// </summary>
    public ValueTask CompleteAsync()
    {
        if (Volatile.Read(ref _passedThrough) == 1 || (!_writerDone && !StopsCompletion(exception: null)))
        {
            // The transport sends, and closes: Kestrel completed its output through this writer.
            return default;
        }

        if (_handedOver || (_finalFlush is null && TransportPipe.Unsent(transportOutput) == 0))
        {
            return default;
        }

        return WaitSentAsync();
    }

    public void Return()
    {
    }

    public override void Advance(int bytes) => Target.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0) => Target.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => Target.GetSpan(sizeHint);

    public override void CancelPendingFlush() => Target.CancelPendingFlush();

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => Target.FlushAsync(cancellationToken);

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        Target.WriteAsync(source, cancellationToken);

    public override void Complete(Exception? exception = null)
    {
        if (!StopsCompletion(exception))
        {
            Target.Complete(exception);
        }
    }

    /// <summary>
    /// Kestrel completed its writer: true when that stops here. An abort, or a close the owner hands over at once (nothing
    /// can call for a linger), goes on to the transport, which closes as it would.
    /// </summary>
    private bool StopsCompletion(Exception? exception)
    {
        if (Volatile.Read(ref _passedThrough) == 1)
        {
            return false;
        }

        if (exception is not null)
        {
            _failed = true;
            return !TryPassThrough();
        }

        _writerDone = true;
        var target = Target;
        if (target.CanGetUnflushedBytes && target.UnflushedBytes > 0)
        {
            // Kestrel flushes before it completes; should it not have, its last bytes are flushed before anything waits on them.
            var flush = target.FlushAsync();
            _finalFlush = flush.IsCompletedSuccessfully ? null : flush.AsTask();
        }

        if (_finalFlush is null && owner?.TryHandOverClose() == true)
        {
            // The owner completed the transport's output.
            _handedOver = true;
            Interlocked.CompareExchange(ref _passedThrough, 1, 0);
        }

        return true;
    }

    private async ValueTask WaitSentAsync()
    {
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

        for (var looks = 0; TransportPipe.Unsent(transportOutput) != 0; looks++)
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

    /// <summary>FIN once the transport has sent every byte it was given (<see cref="ShutdownSendAsync"/>).</summary>
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
}
