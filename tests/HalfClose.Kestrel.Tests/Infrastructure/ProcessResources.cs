namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>What this test process holds: open handles (<c>/proc/self/fd</c>) and managed memory after a full collection.</summary>
public static class ProcessResources
{
    /// <summary>How many file descriptors the process has open (sockets, files, epoll, pipes...).</summary>
    public static int OpenHandles() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>
    /// Managed heap bytes in use after a full, compacting collection with finalizers run: the heap's size less its free
    /// space, as that collection found it. (GC.GetTotalMemory was seen to return negative values here.)
    /// </summary>
    public static long ManagedMemory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var collection = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        return collection.HeapSizeBytes - collection.FragmentedBytes;
    }

    /// <summary>
    /// Polls (the process offers nothing to await) until at most <paramref name="limit"/> handles are open; returns the
    /// count when it is, or when <paramref name="timeout"/> passes. Closing sockets are disposed a moment after the peer sees FIN.
    /// </summary>
    public static async Task<int> WaitForHandlesAtMostAsync(int limit, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var open = OpenHandles();
            if (open <= limit || DateTime.UtcNow > deadline)
            {
                return open;
            }

            await Task.Delay(50);
        }
    }
}
