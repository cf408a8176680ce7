using System.Buffers;
using System.IO.Pipelines;

namespace HalfClose.Kestrel.Benchmarks.Micro;

/// <summary>
/// A pipe whose operations all complete synchronously (inline schedulers, no back-pressure), so that a benchmark
/// measures the reader's own work and not thread-pool hops.
/// </summary>
internal static class SyncPipe
{
    public static Pipe Create() => new(new PipeOptions(
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 0,
        resumeWriterThreshold: 0,
        useSynchronizationContext: false));

    /// <summary>Writes <paramref name="bytes"/> and flushes; a pending read on the pipe completes inline.</summary>
    public static void Write(PipeWriter writer, ReadOnlySpan<byte> bytes)
    {
        writer.Write(bytes);
        Wait(writer.FlushAsync());
    }

    /// <summary>A read that must complete at once: the data (or the end) is already in the pipe.</summary>
    public static ReadResult Read(PipeReader reader) => Wait(reader.ReadAsync());

    /// <summary>The result of an operation that has already completed; anything else is a bug in the benchmark.</summary>
    public static T Wait<T>(ValueTask<T> operation) => operation.IsCompleted
        ? operation.GetAwaiter().GetResult()
        : throw new InvalidOperationException("The pipe operation did not complete synchronously.");
}
