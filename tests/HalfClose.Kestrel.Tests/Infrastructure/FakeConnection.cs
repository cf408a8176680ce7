using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>
/// A connection for the state machine's wiring tests, where time is fake: the client's bytes and end go into
/// <see cref="ClientInput"/>, the transport's close is <see cref="CloseTransport"/>, aborts are recorded.
/// </summary>
public sealed class FakeConnection : ConnectionContext
{
    private readonly CancellationTokenSource _transportClosed = new();
    private int _aborts;

    public FakeConnection()
    {
        Transport = new Duplex(ClientInput.Reader, ServerOutput.Writer);
        ConnectionClosed = _transportClosed.Token;
    }

    public Pipe ClientInput { get; } = new();

    public Pipe ServerOutput { get; } = new();

    public int Aborts => Volatile.Read(ref _aborts);

    public override string ConnectionId { get; set; } = "fake";

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed { get; set; }

    /// <summary>The transport says it closed, as the socket transport does once its receive loop ended.</summary>
    public void CloseTransport() => _transportClosed.Cancel();

    public override void Abort(ConnectionAbortedException abortReason) => Interlocked.Increment(ref _aborts);

    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
