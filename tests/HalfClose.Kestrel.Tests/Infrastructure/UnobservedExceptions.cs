using System.Collections.Concurrent;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>
/// Records <see cref="TaskScheduler.UnobservedTaskException"/> while it lives. A faulted task is reported only when it is
/// finalized: <see cref="Collect"/> forces a full collection and runs the finalizers first.
/// </summary>
public sealed class UnobservedExceptions : IDisposable
{
    private readonly ConcurrentQueue<Exception> _seen = new();

    private UnobservedExceptions() => TaskScheduler.UnobservedTaskException += OnUnobserved;

    /// <summary>Starts watching, after flushing what earlier code left for the finalizer (so it is not counted here).</summary>
    public static UnobservedExceptions Watch()
    {
        Flush();
        return new UnobservedExceptions();
    }

    /// <summary>What was seen up to now, after a full collection with finalizers run.</summary>
    public IReadOnlyList<Exception> Collect()
    {
        Flush();
        return _seen.ToArray();
    }

    public void Dispose() => TaskScheduler.UnobservedTaskException -= OnUnobserved;

    private static void Flush()
    {
        for (var i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => _seen.Enqueue(e.Exception);
}
