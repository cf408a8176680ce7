namespace HalfClose.Kestrel.Tests.Reliability;

/// <summary>
/// The reliability suite (issue 6): long and abusive runs on real loopback sockets. Its own collection, not run in
/// parallel with anything else, so that its load and its process-wide figures (handles, memory, unobserved task
/// exceptions) are its own. Filter with <c>--filter "Category=Reliability"</c>.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilitySuite : ICollectionFixture<ThreadPoolFloor>
{
    public const string Name = "Reliability";
    public const string Category = "Category";
    public const string Trait = "Reliability";
}

/// <summary>
/// A floor under the thread pool while the suite runs. The test host keeps two pool threads blocked for the whole run
/// (vstest's message loop polls its socket, xunit's adapter waits for the assembly); with the default minimum of one
/// thread per core, a fresh process on two cores then runs nothing else until the pool injects a thread, every 0.5 s or
/// so: timers came 0.6 to 0.9 s late (measured). A server process has no such threads, so the suite restores the margin.
/// </summary>
public sealed class ThreadPoolFloor : IDisposable
{
    private const int Floor = 8;
    private readonly int _workers;
    private readonly int _completionPorts;

    public ThreadPoolFloor()
    {
        ThreadPool.GetMinThreads(out _workers, out _completionPorts);
        ThreadPool.SetMinThreads(Math.Max(_workers, Floor), _completionPorts);
    }

    public void Dispose() => ThreadPool.SetMinThreads(_workers, _completionPorts);
}
