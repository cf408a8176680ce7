using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The connection's own send path, when the policy closes the socket itself and the transport's output cannot be watched
/// (<see cref="WatchedOutput"/> where it can). The socket transport completes its output and closes both directions at
/// once, so Kestrel's completion stops here, and FIN must go out only after the last response byte: Kestrel writes into
/// this pipe and its loop sends to the socket. A middleware cannot tell when the transport's send loop has emptied; this
/// loop can.
/// </summary>
/// <remarks>
/// Pooled (<see cref="OutputPool"/>): the pipe, its event args and this object serve one connection after another, so a
/// connection costs nothing here. The loop is a hand-written state machine (no allocation), run after Kestrel's flush on
/// a <see cref="SendQueue"/>, as the socket transport's own send loop runs on its I/O queue; a send the kernel cannot
/// take at once completes on the socket's own thread.
/// </remarks>
internal sealed partial class HalfCloseOutput : SocketAsyncEventArgs, IValueTaskSource, ISendPath
{
    private const int PauseWriterThreshold = 64 * 1024;

    private readonly Pipe _pipe;
    private readonly ForwardingWriter _writer;
    private readonly Action _onRead;
    private PipeWriter? _transportOutput;
    private CancellationToken _transportClosed;
    private ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter _read;
    private ManualResetValueTaskSourceCore<bool> _loopEnd;
    private Socket? _socket;
    private ReadResult _result;
    private long _sent;
    private volatile bool _failed;
    private bool _finSent;
    private volatile bool _handedOver;
    private ISendPathOwner? _owner;
    private TaskCompletionSource<bool>? _finRequest;
    private int _loopEnded;

    private HalfCloseOutput(MemoryPool<byte> pool)
        : base(unsafeSuppressExecutionContextFlow: true)
    {
        Pool = pool;
        _pipe = new Pipe(new PipeOptions(
            pool,
            readerScheduler: SendQueue.Next(),
            writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: PauseWriterThreshold,
            resumeWriterThreshold: PauseWriterThreshold / 2,
            useSynchronizationContext: false));
        _onRead = OnRead;
        _writer = new ForwardingWriter(this) { Target = _pipe.Writer };

        // The close awaits the loop's end and runs on from it, with no hop: the loop never ends inside a caller's call (it
        // starts inside Kestrel's first flush only to wait, and runs on its send queue or the socket's completion), so no
        // caller's lock is held there.
        _loopEnd.RunContinuationsAsynchronously = false;
    }

    /// <summary>The memory pool the pipe rents from (Kestrel's, for the connection's listener).</summary>
    public MemoryPool<byte> Pool { get; }

    /// <summary>The writer Kestrel writes the connection's bytes to.</summary>
    public PipeWriter Writer => _writer;

    /// <summary>Whether a send failed, or the output was completed with an error (an abort): no graceful close then.</summary>
    public bool Failed => _failed;

    /// <summary>Whether FIN was sent after the last byte.</summary>
    public bool FinSent => Volatile.Read(ref _finSent);

    /// <summary>
    /// Whether the close is the transport's: the owner took it as the loop ended (<see cref="ISendPathOwner.TryHandOverClose"/>),
    /// or the connection passed through before anything was written (<see cref="TryPassThrough"/>).
    /// </summary>
    public bool HandedOver => _handedOver;

    /// <summary>The send path for <paramref name="connection"/>'s socket, from the pool for Kestrel's memory pool.</summary>
    public static HalfCloseOutput For(ConnectionContext connection, Socket socket, ISendPathOwner? owner = null)
    {
        var pool = connection.Features.Find<IMemoryPoolFeature>()?.MemoryPool ?? MemoryPool<byte>.Shared;
        var output = OutputPool.Rent(pool) ?? new HalfCloseOutput(pool);
        output._socket = socket;
        output._owner = owner;
        output._transportOutput = connection.Transport.Output;
        output._transportClosed = connection.ConnectionClosed;
        return output;
    }

    /// <summary>Readies the send loop: it starts at Kestrel's first flush, and runs whenever Kestrel flushes.</summary>
    public void Start() => _loopEnd.Reset();

    /// <summary>Sends FIN, once; false when the socket is already gone.</summary>
    public bool SendFin() => _socket is { } socket && SendPaths.SendFin(socket, ref _finSent);

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
            request.TrySetResult(FinSent);
        }

        return request.Task;
    }

    /// <summary>Nothing more will be written: completes once the send loop has sent what is left and stopped.</summary>
    public ValueTask CompleteAsync()
    {
        if (Volatile.Read(ref _loopState) == PassedThrough)
        {
            // The transport sends, and closes: Kestrel completed its output through the writer.
            return default;
        }

        EnsureStarted();
        _pipe.Writer.Complete();
        return new ValueTask(this, _loopEnd.Version);
    }

    /// <summary>The connection is over and the loop has ended: back to the pool for the next connection.</summary>
    public void Return()
    {
        if (Volatile.Read(ref _loopEnded) != 1 || Volatile.Read(ref _finRequest) is { Task.IsCompleted: false })
        {
            // The loop has not ended (the close did not wait for it), or a FIN still waits for the transport's last byte:
            // left to the collector rather than reset under a send, or handed to the next connection with a FIN to come.
            return;
        }

        // Kestrel completed the writer (the close did, if Kestrel had not): both ends done, the pipe can start afresh.
        _pipe.Writer.Complete();
        _pipe.Reset();
        _writer.Target = _pipe.Writer;
        _transportOutput = null;
        _transportClosed = default;
        _loopState = NotStarted;
        _socket = null;
        _owner = null;
        _handedOver = false;
        _result = default;
        _sent = 0;
        _failed = false;
        _finSent = false;
        _finRequest = null;
        _loopEnded = 0;
        OutputPool.Return(this);
    }

    void IValueTaskSource.GetResult(short token) => _loopEnd.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _loopEnd.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _loopEnd.OnCompleted(continuation, state, token, flags);

    private void OnRead() => Continue(haveResult: false, pendingRead: true);

    /// <summary>A send the kernel could not take at once has completed (on the socket's thread).</summary>
    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        if (SocketError != SocketError.Success)
        {
            Fail();
            return;
        }

        _sent += BytesTransferred;
        Continue(haveResult: true);
    }
}
