using System.Globalization;
using System.Runtime.InteropServices;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// What a .NET host has counted since it started: the methods its JIT compiled, the bytes it allocated (every thread,
/// exact), the thread-pool work items it completed, and the times its threads gave up the CPU waiting (voluntary context
/// switches, <c>getrusage</c>, every thread; 0 where that cannot be read), the garbage collections (every generation's
/// count toward generation 0's), the exceptions thrown (caught or not); and, not a count, how many thread-pool threads
/// it has now. Exact counts, unlike CPU time: per request, a difference between two hosts is the code's, whatever else the
/// machine did (the switches move with the machine somewhat: a thread that finds no work waits).
/// </summary>
internal readonly record struct HostCounters(long Methods, long Allocated, long WorkItems, long Waits, long Collections, long Exceptions, long PoolThreads)
{
    private const int Fields = 7;

    private static long s_exceptions;

    /// <summary>Starts counting the exceptions thrown in this process (first chance: caught or not).</summary>
    public static void CountExceptions() => AppDomain.CurrentDomain.FirstChanceException += static (_, _) => Interlocked.Increment(ref s_exceptions);

    /// <summary>The host's own counts, as its answer to the runner's query.</summary>
    public static HostCounters Now() => new(
        System.Runtime.JitInfo.GetCompiledMethodCount(), GC.GetTotalAllocatedBytes(precise: true), ThreadPool.CompletedWorkItemCount,
        VoluntarySwitches(), GC.CollectionCount(0), Interlocked.Read(ref s_exceptions), ThreadPool.ThreadCount);

    /// <summary>The counts between two queries; the thread count is the later one's.</summary>
    public static HostCounters operator -(HostCounters after, HostCounters before) => new(
        after.Methods - before.Methods, after.Allocated - before.Allocated, after.WorkItems - before.WorkItems, after.Waits - before.Waits,
        after.Collections - before.Collections, after.Exceptions - before.Exceptions, after.PoolThreads);

    public string Format() => string.Create(CultureInfo.InvariantCulture, $"{Methods} {Allocated} {WorkItems} {Waits} {Collections} {Exceptions} {PoolThreads}");

    public static HostCounters Parse(ReadOnlySpan<char> text)
    {
        Span<Range> parts = stackalloc Range[Fields + 1];
        if (text.Split(parts, ' ') != Fields)
        {
            throw new FormatException($"Not {Fields} counts: '{text}'.");
        }

        return new(Field(text, parts[0]), Field(text, parts[1]), Field(text, parts[2]), Field(text, parts[3]), Field(text, parts[4]), Field(text, parts[5]), Field(text, parts[6]));
    }

    private static long Field(ReadOnlySpan<char> text, Range range) => long.Parse(text[range], CultureInfo.InvariantCulture);

    /// <summary>The process's voluntary context switches so far (every thread, those that exited too); 0 off Linux x64/arm64.</summary>
    private static long VoluntarySwitches()
    {
        if (!OperatingSystem.IsLinux() || IntPtr.Size != 8)
        {
            return 0;
        }

        // struct rusage on 64-bit Linux: two timevals (4 longs), then 14 longs, ru_nvcsw the 13th of them.
        Span<long> usage = stackalloc long[18];
        return GetResourceUsage(0 /* RUSAGE_SELF */, ref MemoryMarshal.GetReference(usage)) == 0 ? usage[16] : 0;
    }

    [DllImport("libc", EntryPoint = "getrusage", SetLastError = false)]
    private static extern int GetResourceUsage(int who, ref long usage);
}
