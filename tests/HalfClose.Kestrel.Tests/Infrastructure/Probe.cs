using System.Collections.Concurrent;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>What the test origin's handlers saw, keyed by the request's <c>id</c> query value.</summary>
public sealed class Probe
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _aborted = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _started = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _ended = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _received = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _released = new();

    /// <summary>Completes when the request's <c>RequestAborted</c> fired.</summary>
    public Task Aborted(string id) => Get(_aborted, id).Task;

    /// <summary>Completes when the request's handler started.</summary>
    public Task Started(string id) => Get(_started, id).Task;

    /// <summary>Completes when the handler read the end of its input (the peer's FIN, for an upgraded stream).</summary>
    public Task InputEnded(string id) => Get(_ended, id).Task;

    /// <summary>Completes with what the handler read before the end of its input (an upgraded stream's bytes, as Latin-1).</summary>
    public Task<string> Received(string id) => _received.GetOrAdd(id, static _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Completes when the test lets a held handler (<c>/held</c>) answer.</summary>
    public Task Released(string id) => Get(_released, id).Task;

    /// <summary>Lets the held handler <paramref name="id"/> answer: a test holds a request in flight until what it awaits has happened.</summary>
    public void Release(string id) => Get(_released, id).TrySetResult();

    public bool WasAborted(string id) => _aborted.TryGetValue(id, out var tcs) && tcs.Task.IsCompleted;

    internal void OnStarted(string id) => Get(_started, id).TrySetResult();

    internal void OnEnded(string id) => Get(_ended, id).TrySetResult();

    internal void OnReceived(string id, string text)
    {
        _ = Received(id);
        _received[id].TrySetResult(text);
    }

    internal void OnAborted(string id) => Get(_aborted, id).TrySetResult();

    private static TaskCompletionSource Get(ConcurrentDictionary<string, TaskCompletionSource> map, string id) =>
        map.GetOrAdd(id, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
