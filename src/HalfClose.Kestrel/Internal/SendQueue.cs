using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Where the send paths' loops run after Kestrel flushes: a few queues, each drained by one thread-pool work item at a
/// time, as the socket transport's own I/O queues are. Flushes of many connections go out in one pass of a worker
/// instead of one wake-up each.
/// </summary>
internal sealed class SendQueue : PipeScheduler, IThreadPoolWorkItem
{
    private static readonly SendQueue[] Queues = [.. Enumerable.Range(0, Math.Min(Environment.ProcessorCount, 16)).Select(_ => new SendQueue())];
    private static int _next;

    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _work = new();
    private int _scheduled;

    /// <summary>The queues in turn, one per send path.</summary>
    public static SendQueue Next() => Queues[(int)((uint)Interlocked.Increment(ref _next) % (uint)Queues.Length)];

    public override void Schedule(Action<object?> action, object? state)
    {
        _work.Enqueue((action, state));
        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            while (_work.TryDequeue(out var item))
            {
                item.Action(item.State);
            }

            // Unscheduled, then looked again: work enqueued meanwhile either finds it unscheduled or is seen here.
            Interlocked.Exchange(ref _scheduled, 0);
            if (_work.IsEmpty || Interlocked.CompareExchange(ref _scheduled, 1, 0) != 0)
            {
                return;
            }
        }
    }
}
