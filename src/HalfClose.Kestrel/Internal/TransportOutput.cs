using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// How many bytes written to the socket transport's output its send loop has yet to hand to the socket. The transport's
/// output is a <see cref="Pipe"/>, whose reader (the send loop) advances past a buffer only once the socket took it; the
/// pipe keeps that count but shows it to no one, so it is read here, through its field. Where the transport's output is
/// not such a pipe, or the field is not there (another runtime), <see cref="CanWatch"/> says no and the policy sends
/// through its own send path instead.
/// </summary>
internal static class TransportOutput
{
    private const string DefaultPipeWriter = "System.IO.Pipelines.Pipe+DefaultPipeWriter, System.IO.Pipelines";

    // The writer a pipe hands out (the accessors below name it; the probe tells whether they reach it).
    private static readonly Type WriterType = new Pipe().Writer.GetType();

    /// <summary>Whether this runtime's pipe shows its count as it is read here (tried once, on a pipe of its own).</summary>
    public static bool Available { get; } = Probe();

    /// <summary>Whether <paramref name="output"/>'s unsent bytes can be read.</summary>
    public static bool CanWatch(PipeWriter output) => Available && output.GetType() == WriterType;

    /// <summary>The bytes flushed to <paramref name="output"/> that its reader has not yet consumed (sent).</summary>
    public static long Unsent(PipeWriter output) => Volatile.Read(ref UnconsumedBytes(PipeOf(output)));

    private static bool Probe()
    {
        try
        {
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
            pipe.Writer.GetSpan(3)[..3].Clear();
            pipe.Writer.Advance(3);
            var flushed = pipe.Writer.FlushAsync();
            var written = Unsent(pipe.Writer);
            pipe.Reader.TryRead(out var read);
            var held = Unsent(pipe.Writer);
            pipe.Reader.AdvanceTo(read.Buffer.End);
            var consumed = Unsent(pipe.Writer);
            pipe.Writer.Complete();
            pipe.Reader.Complete();
            return flushed.IsCompleted && written == 3 && held == 3 && consumed == 0;
        }
        catch (Exception ex) when (ex is MissingMemberException or InvalidOperationException or NotSupportedException or TypeLoadException)
        {
            return false;
        }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_pipe")]
    private static extern ref Pipe PipeOf([UnsafeAccessorType(DefaultPipeWriter)] object writer);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_unconsumedBytes")]
    private static extern ref long UnconsumedBytes(Pipe pipe);
}
