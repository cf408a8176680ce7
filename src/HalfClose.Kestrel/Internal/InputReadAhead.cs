using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// What <see cref="HalfCloseInput"/>'s read-ahead needs, made the first time one starts (above a TLS layer only): nothing
/// of it is allocated on the common path.
/// </summary>
internal sealed class InputReadAhead(Action onCompleted)
{
    /// <summary>Orders the read-ahead's completion against the application's read joining it, and against the reader's completion.</summary>
    public Lock Gate { get; } = new();

    public Action OnCompleted { get; } = onCompleted;

    /// <summary>The read-ahead's pending read.</summary>
    public ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter Read { get; set; }

    /// <summary>Whether the application's read joined this read-ahead: its result is the application's.</summary>
    public bool Joined { get; set; }
}
