using System.Globalization;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// What a .NET host has counted since it started: the methods its JIT compiled, the bytes it allocated (every thread,
/// exact) and the thread-pool work items it completed. Exact counts, unlike CPU time: per request, a difference between
/// two hosts is the code's, whatever else the machine did.
/// </summary>
internal readonly record struct HostCounters(long Methods, long Allocated, long WorkItems)
{
    /// <summary>The host's own counts, as its answer to the runner's query.</summary>
    public static HostCounters Now() => new(
        System.Runtime.JitInfo.GetCompiledMethodCount(), GC.GetTotalAllocatedBytes(precise: true), ThreadPool.CompletedWorkItemCount);

    public static HostCounters operator -(HostCounters after, HostCounters before) =>
        new(after.Methods - before.Methods, after.Allocated - before.Allocated, after.WorkItems - before.WorkItems);

    public string Format() => string.Create(CultureInfo.InvariantCulture, $"{Methods} {Allocated} {WorkItems}");

    public static HostCounters Parse(ReadOnlySpan<char> text)
    {
        Span<Range> parts = stackalloc Range[4];
        if (text.Split(parts, ' ') != 3)
        {
            throw new FormatException($"Not three counts: '{text}'.");
        }

        return new(
            long.Parse(text[parts[0]], CultureInfo.InvariantCulture),
            long.Parse(text[parts[1]], CultureInfo.InvariantCulture),
            long.Parse(text[parts[2]], CultureInfo.InvariantCulture));
    }
}
