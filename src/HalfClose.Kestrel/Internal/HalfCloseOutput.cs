using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The connection's send path, when the policy closes the socket itself: Kestrel writes into this pipe and its loop
/// sends to the socket. The socket transport completes its output and closes both directions at once, and a middleware
/// cannot tell when its send loop has emptied; this loop can, so that FIN goes out only after the last response byte.
/// </summary>
internal sealed class HalfCloseOutput
{
    private const int PauseWriterThreshold = 64 * 1024;

    private readonly Socket _socket;
    private readonly Pipe _pipe;
    private List<ArraySegment<byte>>? _segments;
    private volatile bool _failed;
    private volatile bool _finSent;
    private TaskCompletionSource<bool>? _finRequest;
    private int _loopEnded;

    /// <param name="socket">The connection's socket.</param>
    /// <param name="pool">Kestrel's memory pool.</param>
    public HalfCloseOutput(Socket socket, MemoryPool<byte> pool)
    {
        _socket = socket;
        _pipe = new Pipe(new PipeOptions(
            pool,
            readerScheduler: PipeScheduler.ThreadPool,
            writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: PauseWriterThreshold,
            resumeWriterThreshold: PauseWriterThreshold / 2,
            useSynchronizationContext: false));
    }

    public PipeWriter Writer => _pipe.Writer;

    /// <summary>The send path for <paramref name="connection"/>'s socket, in Kestrel's memory pool; none without a socket.</summary>
    public static HalfCloseOutput? For(Microsoft.AspNetCore.Connections.ConnectionContext connection, Socket? socket) =>
        socket is null ? null : new HalfCloseOutput(socket, connection.Features.Get<Microsoft.AspNetCore.Connections.Features.IMemoryPoolFeature>()?.MemoryPool ?? MemoryPool<byte>.Shared);

    /// <summary>
    /// Completes when every byte written before the writer completed is in the socket's send buffer, or sending failed.
    /// Awaited once, by <see cref="CompleteAsync"/> (a pooled ValueTask: no allocation per connection for the loop).
    /// </summary>
    private ValueTask Sending { get; set; }

    /// <summary>Whether a send failed, or the output was completed with an error (an abort): no graceful close then.</summary>
    public bool Failed => _failed;

    /// <summary>Whether FIN was sent after the last byte.</summary>
    public bool FinSent => _finSent;

    /// <summary>Sends FIN, once; false when the socket is already gone.</summary>
    public bool SendFin()
    {
        if (_finSent)
        {
            return true;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Send);
            _finSent = true;
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Sends FIN once every byte written before this call is sent (true), while the connection keeps reading; what is
    /// written afterwards is discarded. False when the socket is already gone.
    /// </summary>
    public Task<bool> ShutdownSendAsync()
    {
        var request = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _finRequest, request, null) is { } earlier)
        {
            return earlier.Task;
        }

        // The loop's next read returns at once, cancelled, with every byte flushed before this call.
        _pipe.Reader.CancelPendingRead();
        if (Volatile.Read(ref _loopEnded) == 1)
        {
            // The loop had ended (and may not have seen this request): nothing more will be sent.
            request.TrySetResult(_finSent);
        }

        return request.Task;
    }

    /// <summary>Nothing more will be written: completes once the send loop has sent what is left and stopped.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask CompleteAsync()
    {
        await _pipe.Writer.CompleteAsync().ConfigureAwait(false);
        await Sending.ConfigureAwait(false);
    }

#pragma warning disable CA2012 // Kept to be awaited exactly once, by the close.
    public void Start() => Sending = SendLoopAsync();
#pragma warning restore CA2012

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendLoopAsync()
    {
        var reader = _pipe.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (!buffer.IsEmpty && !_finSent)
                {
                    await SendAsync(buffer).ConfigureAwait(false);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }

                if (result.IsCanceled && Volatile.Read(ref _finRequest) is { } request)
                {
                    // Only ShutdownSendAsync cancels this reader: what it asked to be sent has just been.
                    request.TrySetResult(SendFin());
                }
            }
        }
        catch (Exception)
        {
            // A failed send (reset, socket closed under it), or the writer completed with an error (an abort).
            _failed = true;
        }
        finally
        {
            // Written with a full fence before the request is read; a request writes itself before reading this.
            Interlocked.Exchange(ref _loopEnded, 1);
            Volatile.Read(ref _finRequest)?.TrySetResult(_finSent);

            // Kestrel's next flush then sees the output completed, as when the socket transport's send loop ends.
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private ValueTask SendAsync(in ReadOnlySequence<byte> buffer) =>
        buffer.IsSingleSegment ? SendAllAsync(buffer.First) : SendSegmentsAsync(buffer);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> memory)
    {
        while (!memory.IsEmpty)
        {
            var sent = await _socket.SendAsync(memory, SocketFlags.None).ConfigureAwait(false);
            memory = memory[sent..];
        }
    }

    /// <summary>One gathered send for a multi-segment buffer; what it leaves unsent goes segment by segment.</summary>
    private async ValueTask SendSegmentsAsync(ReadOnlySequence<byte> buffer)
    {
        var segments = _segments ??= [];
        segments.Clear();
        foreach (var memory in buffer)
        {
            if (!MemoryMarshal.TryGetArray(memory, out var array))
            {
                segments.Clear();
                break;
            }

            segments.Add(array);
        }

        long sent = 0;
        if (segments.Count > 0)
        {
            sent = await _socket.SendAsync(segments, SocketFlags.None).ConfigureAwait(false);
            segments.Clear();
        }

        foreach (var memory in buffer.Slice(sent))
        {
            await SendAllAsync(memory).ConfigureAwait(false);
        }
    }
}
