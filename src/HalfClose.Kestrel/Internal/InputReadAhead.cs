using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// What <see cref="HalfCloseInput"/>'s read-ahead needs, made the first time one starts (above a TLS layer only): nothing
/// of it is allocated on the common path.
/// </summary>
internal sealed class InputReadAhead(Action onCompleted) : IValueTaskSource<ReadResult>
{
    // The application's read that joined the read-ahead completes through this (one read is outstanding at a time).
    private ManualResetValueTaskSourceCore<ReadResult> _joinedRead;

    /// <summary>Orders the read-ahead's completion against the application's read joining it, and against the reader's completion.</summary>
    public Lock Gate { get; } = new();

    public Action OnCompleted { get; } = onCompleted;

    /// <summary>The read-ahead's pending read.</summary>
    public ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter Read { get; set; }

    /// <summary>Whether the application's read joined this read-ahead: its result is the application's.</summary>
    public bool Joined { get; set; }

    /// <summary>The application's read, joined to this read-ahead (under <see cref="Gate"/>): it completes with the read-ahead.</summary>
    public void Join()
    {
        _joinedRead.Reset();
        Joined = true;
    }

    /// <summary>The joined read, as the application awaits it.</summary>
    public ValueTask<ReadResult> JoinedRead => new(this, _joinedRead.Version);

    /// <summary>Completes the joined read with the read-ahead's result.</summary>
    public void Complete(ReadResult result) => _joinedRead.SetResult(result);

    /// <summary>Fails the joined read with the read-ahead's error.</summary>
    public void Fail(Exception error) => _joinedRead.SetException(error);

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _joinedRead.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _joinedRead.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _joinedRead.OnCompleted(continuation, state, token, flags);
}
