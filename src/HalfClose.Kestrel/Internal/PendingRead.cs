using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The source behind a read that completes later, so that a reader wrapping another can hand the application's await
/// through to it. <see cref="ValueTask{TResult}"/> has no public accessor for it; its fields are read by name, and where
/// this runtime's differ (checked once), every read is awaited instead.
/// </summary>
internal static class PendingRead
{
    private static readonly bool s_readable = CanRead();

    /// <summary>
    /// The source of <paramref name="read"/> (not completed) and its token; null when it is a task, or unreadable. When it is
    /// <paramref name="known"/> (the source of the reader's last read), that is returned with no type check.
    /// </summary>
    public static IValueTaskSource<ReadResult>? SourceOf(in ValueTask<ReadResult> read, IValueTaskSource<ReadResult>? known, out short token)
    {
        if (s_readable && Source(in read) is { } value && (ReferenceEquals(value, known) || value is IValueTaskSource<ReadResult>))
        {
            token = Token(in read);
            return Unsafe.As<IValueTaskSource<ReadResult>>(value);
        }

        token = 0;
        return null;
    }

    private static bool CanRead()
    {
        try
        {
            var probe = new ValueTask<ReadResult>(Unreadable.Instance, 7);
            return ReferenceEquals(Source(in probe), Unreadable.Instance) && Token(in probe) == 7;
        }
        catch (Exception ex) when (ex is MissingFieldException or MissingMemberException or TypeLoadException)
        {
            return false;
        }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_obj")]
    private static extern ref readonly object? Source(ref readonly ValueTask<ReadResult> read);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_token")]
    private static extern ref readonly short Token(ref readonly ValueTask<ReadResult> read);

    /// <summary>A source only ever looked at, never awaited: it tells whether the fields read are the ones written.</summary>
    private sealed class Unreadable : IValueTaskSource<ReadResult>
    {
        public static readonly Unreadable Instance = new();

        public ReadResult GetResult(short token) => throw new NotSupportedException();

        public ValueTaskSourceStatus GetStatus(short token) => ValueTaskSourceStatus.Pending;

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) => throw new NotSupportedException();
    }
}
