using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// The floor host's connection middleware (<c>--twin=floor</c>): the least that any connection middleware keeping Kestrel
/// going after a client's FIN does, and nothing of the policy's. It stands between the transport's <c>ConnectionClosed</c>
/// and Kestrel (a token source of its own, and a registration on the transport's token that passes every close on), puts
/// a feature of its own on the connection, gives Kestrel a transport whose input and output pass every call through (the
/// places where a FIN is seen in reads and a close held back for a linger), and lets the registration go in a
/// connection-completion callback. No state machine, no request middleware, no lookups.
/// </summary>
internal static class FloorMiddleware
{
    public static Task OnConnectionAsync(ConnectionDelegate next, ConnectionContext connection)
    {
        var floor = new FloorConnection(connection);
        connection.Features.Set<IFloorFeature>(floor);
        connection.Features.Get<IConnectionCompleteFeature>()?.OnCompleted(static state => ((FloorConnection)state).End(), floor);
        return next(connection);
    }

    /// <summary>The floor's own connection feature (where the policy puts <c>IHalfCloseFeature</c>).</summary>
    internal interface IFloorFeature;

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "As the policy's: the token source owns no timer or wait handle.")]
    private sealed class FloorConnection : IFloorFeature, IDuplexPipe
    {
        private readonly CancellationTokenSource _closed = new();
        private readonly CancellationTokenRegistration _transportRegistration;

        public FloorConnection(ConnectionContext connection)
        {
            var transport = connection.Transport;
            Input = new PassThroughReader(transport.Input);
            Output = new PassThroughWriter(transport.Output);
            _transportRegistration = connection.ConnectionClosed.UnsafeRegister(static state => ((FloorConnection)state!)._closed.Cancel(), this);
            connection.ConnectionClosed = _closed.Token;
            connection.Transport = this;
        }

        public PipeReader Input { get; }

        public PipeWriter Output { get; }

        public Task End()
        {
            _transportRegistration.Dispose();
            return Task.CompletedTask;
        }
    }

    private sealed class PassThroughReader(PipeReader inner) : PipeReader
    {
        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

        public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }

    private sealed class PassThroughWriter(PipeWriter inner) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(source, cancellationToken);

        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }
}
