using System.IO.Pipelines;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using HalfClose.Kestrel.Internal;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace HalfClose.Kestrel.Benchmarks.Micro;

/// <summary>
/// (c) Per-connection set-up and tear-down: a connection passes through the connection middleware to a
/// <c>next</c> that stays pending (as Kestrel's HTTP layer does), then ends. The baseline calls <c>next</c> directly;
/// the other goes through <see cref="HalfCloseConnectionMiddleware"/>, which creates the connection's
/// <see cref="HalfCloseConnection"/>, its input decorator and transport, registers on the transport's token and for
/// Kestrel's connection-completion callbacks, where its close runs. The difference in the Allocated column is the
/// policy's bytes per connection.
/// </summary>
[MemoryDiagnoser]
public class ConnectionSetupBenchmarks : IDisposable
{
    private static readonly TimeSpan TeardownTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly IDuplexPipe _transport = new BenchTransport(SyncPipe.Create());
    private ConnectionDelegate _kestrel = null!;
    private ConnectionDelegate _withPolicy = null!;
    private TaskCompletionSource _connectionEnd = new();

    [GlobalSetup]
    public void Setup()
    {
        using var services = new ServiceCollection().BuildServiceProvider();
        var shared = HalfCloseServices.CreateContext(services, configure: null);
        _kestrel = Next;
        _withPolicy = new HalfCloseConnectionMiddleware(_kestrel, shared, http1Possible: true).OnConnectionAsync;
    }

    [Benchmark(Baseline = true)]
    public Task Kestrel() => Connect(_kestrel);

    [Benchmark]
    public Task WithPolicy() => Connect(_withPolicy);

    public void Dispose()
    {
        _socket.Dispose();
        GC.SuppressFinalize(this);
    }

    private Task Next(ConnectionContext connection) => _connectionEnd.Task;

    private Task Connect(ConnectionDelegate app)
    {
        var connection = new BenchConnection(_socket, _transport);
        _connectionEnd = new TaskCompletionSource();
        var served = app(connection);

        // The connection ends: the middleware's continuation (its tear-down) runs inline; a tear-down that goes on
        // asynchronously (a send loop on the thread pool, say) is waited for, and its hop is then part of the time.
        _connectionEnd.SetResult();
        WaitBounded(served, "tear-down");

        // Then, as Kestrel does, the connection's completion callbacks (the policy's close).
        WaitBounded(connection.FireOnCompletedAsync(), "completion callbacks");
        return served;
    }

    private static void WaitBounded(Task task, string what)
    {
        if (!task.IsCompleted && !task.Wait(TeardownTimeout))
        {
            throw new InvalidOperationException($"The connection's {what} took longer than {TeardownTimeout}.");
        }
    }
}
