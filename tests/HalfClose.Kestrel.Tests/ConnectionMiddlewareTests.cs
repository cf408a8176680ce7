using System.Net.Sockets;
using HalfClose.Kestrel.Internal;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// Where the connection middleware hangs the server's close: on Kestrel's connection-completion callbacks when the server
/// has them (no async layer of its own), after the next middleware's task otherwise. Real sockets prove the close itself.
/// </summary>
public sealed class ConnectionMiddlewareTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddLogging().AddMetrics().BuildServiceProvider();
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly FakeConnection _connection = new();
    private readonly TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConnectionMiddlewareTests() => _connection.Features.Set<IConnectionSocketFeature>(new SocketFeature(_socket));

    public void Dispose()
    {
        _socket.Dispose();
        _services.Dispose();
    }

    private ConnectionDelegate Middleware() =>
        new HalfCloseConnectionMiddleware(_ => _next.Task, HalfCloseServices.CreateContext(_services, configure: null), http1Possible: true).OnConnectionAsync;

    [Fact]
    public async Task UnderKestrelsCompletionCallbacks_TheNextsOwnTaskIsReturned_TheCloseRunsInTheCallback()
    {
        var completion = new CompletionFeature();
        _connection.Features.Set<IConnectionCompleteFeature>(completion);
        var transportToken = _connection.ConnectionClosed;
        var transport = _connection.Transport;

        var served = Middleware()(_connection);

        Assert.Same(_next.Task, served);
        Assert.NotEqual(transportToken, _connection.ConnectionClosed);
        Assert.NotSame(transport, _connection.Transport);
        var (callback, state) = Assert.Single(completion.Callbacks);

        // Every middleware returned: the policy's transport and token stay Kestrel's until its callbacks run.
        _next.SetResult();
        await served.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotSame(transport, _connection.Transport);

        await callback(state).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(transportToken, _connection.ConnectionClosed);
        Assert.Same(transport, _connection.Transport);
    }

    [Fact]
    public async Task WithoutCompletionCallbacks_TheCloseFollowsTheNextsTask()
    {
        var transportToken = _connection.ConnectionClosed;
        var transport = _connection.Transport;

        var served = Middleware()(_connection);

        Assert.NotSame(_next.Task, served);
        Assert.NotSame(transport, _connection.Transport);
        _next.SetResult();
        await served.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(transportToken, _connection.ConnectionClosed);
        Assert.Same(transport, _connection.Transport);
    }

    private sealed class SocketFeature(Socket socket) : IConnectionSocketFeature
    {
        public Socket Socket => socket;
    }

    private sealed class CompletionFeature : IConnectionCompleteFeature
    {
        public List<(Func<object, Task> Callback, object State)> Callbacks { get; } = [];

        public void OnCompleted(Func<object, Task> callback, object state) => Callbacks.Add((callback, state));
    }
}
