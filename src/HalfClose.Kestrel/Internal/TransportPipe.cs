using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The count the socket transport's pipes keep of the bytes their reader has not yet examined, and show to no one: it is
/// read here, through the pipe's field. On the output, the reader is the transport's send loop, which examines a buffer
/// only once the socket took it: the count is what is left to send. On the input, the reader is Kestrel. Where a pipe is
/// not such a pipe, or the field is not there (another runtime), <see cref="CanWatch"/> and <see cref="CanCount"/> say
/// no: the policy then sends through its own send path, and looks at every read's result itself.
/// </summary>
internal static class TransportPipe
{
    private const string DefaultPipeReader = "System.IO.Pipelines.Pipe+DefaultPipeReader, System.IO.Pipelines";
    private const string DefaultPipeWriter = "System.IO.Pipelines.Pipe+DefaultPipeWriter, System.IO.Pipelines";

    // The reader and writer a pipe hands out (the accessors below name them; the probe tells whether they reach them).
    private static readonly Type ReaderType = new Pipe().Reader.GetType();
    private static readonly Type WriterType = new Pipe().Writer.GetType();

    /// <summary>Whether this runtime's pipe shows its count as it is read here (tried once, on a pipe of its own).</summary>
    public static bool Available { get; } = Probe();

    /// <summary>Whether <paramref name="output"/>'s unsent bytes can be read.</summary>
    public static bool CanWatch(PipeWriter output) => Available && output.GetType() == WriterType;

    /// <summary>Whether <paramref name="input"/>'s unexamined bytes can be read.</summary>
    public static bool CanCount(PipeReader input) => Available && input.GetType() == ReaderType;

    /// <summary>The bytes flushed to <paramref name="output"/> that its reader has not yet consumed (sent).</summary>
    public static long Unsent(PipeWriter output) => Volatile.Read(ref UnexaminedBytes(WriterPipe(output)));

    /// <summary>The bytes flushed to <paramref name="input"/> that its reader has not examined.</summary>
    public static long Unexamined(PipeReader input) => Volatile.Read(ref UnexaminedBytes(ReaderPipe(input)));

    private static bool Probe()
    {
        try
        {
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
            pipe.Writer.GetSpan(5)[..5].Clear();
            pipe.Writer.Advance(5);
            var flushed = pipe.Writer.FlushAsync();
            var written = (Unsent(pipe.Writer), Unexamined(pipe.Reader));
            pipe.Reader.TryRead(out var read);
            pipe.Reader.AdvanceTo(read.Buffer.Start, read.Buffer.GetPosition(2));
            var examined = Unexamined(pipe.Reader);
            pipe.Reader.TryRead(out read);
            pipe.Reader.AdvanceTo(read.Buffer.End);
            var consumed = Unsent(pipe.Writer);
            pipe.Writer.Complete();
            pipe.Reader.Complete();
            return flushed.IsCompleted && written == (5, 5) && examined == 3 && consumed == 0;
        }
        catch (Exception ex) when (ex is MissingMemberException or InvalidOperationException or NotSupportedException or TypeLoadException or BadImageFormatException)
        {
            return false;
        }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_pipe")]
    private static extern ref Pipe WriterPipe([UnsafeAccessorType(DefaultPipeWriter)] object writer);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_pipe")]
    private static extern ref Pipe ReaderPipe([UnsafeAccessorType(DefaultPipeReader)] object reader);

    // The pipe calls it unconsumed; it counts what its reader has not examined (for its writer's back-pressure).
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_unconsumedBytes")]
    private static extern ref long UnexaminedBytes(Pipe pipe);
}
