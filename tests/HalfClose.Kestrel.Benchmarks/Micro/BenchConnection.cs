using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Benchmarks.Micro;

/// <summary>
/// A stand-in for the socket transport's connection: what the transport has already created when the connection
/// middleware runs (features with the socket and Kestrel's connection-completion callbacks, a <c>ConnectionClosed</c>
/// token source). Created afresh per connection in the baseline and in the policy's benchmark alike, so the difference
/// between them is the policy's own cost.
/// </summary>
internal sealed class BenchConnection : ConnectionContext, IConnectionSocketFeature, IConnectionCompleteFeature
{
    private readonly CancellationTokenSource _closed = new();
    private Stack<KeyValuePair<Func<object, Task>, object>>? _onCompleted;

    public BenchConnection(Socket socket, IDuplexPipe transport)
    {
        Socket = socket;
        Transport = transport;
        ConnectionClosed = _closed.Token;

        // Room for the policy's feature too: no resize is charged to either side.
        Features = new FeatureCollection(initialCapacity: 4);
        Features.Set<IConnectionSocketFeature>(this);
        Features.Set<IConnectionCompleteFeature>(this);
    }

    public Socket Socket { get; }

    public override string ConnectionId { get; set; } = "bench";

    public override IFeatureCollection Features { get; }

    public override IDictionary<object, object?> Items { get; set; } = EmptyItems;

    public override IDuplexPipe Transport { get; set; }

    private static Dictionary<object, object?> EmptyItems { get; } = [];

    public override void Abort(ConnectionAbortedException abortReason) => _closed.Cancel();

    /// <summary>As Kestrel's connection keeps them: a stack made at the first callback.</summary>
    public void OnCompleted(Func<object, Task> callback, object state) => (_onCompleted ??= new()).Push(new(callback, state));

    /// <summary>As Kestrel runs them once every middleware has returned, before it disposes the transport: each in turn.</summary>
    public Task FireOnCompletedAsync()
    {
        while (_onCompleted?.TryPop(out var entry) == true)
        {
            var task = entry.Key(entry.Value);
            if (!task.IsCompletedSuccessfully)
            {
                return ThenTheRestAsync(task);
            }
        }

        return Task.CompletedTask;
    }

    private async Task ThenTheRestAsync(Task pending)
    {
        await pending.ConfigureAwait(false);
        await FireOnCompletedAsync().ConfigureAwait(false);
    }
}
