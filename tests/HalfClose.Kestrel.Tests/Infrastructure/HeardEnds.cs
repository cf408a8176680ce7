using HalfClose.Kestrel.Internal;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>
/// The input's listener in the input's own tests: keeps every end it is told of (there must be one at most), and answers
/// whether the reader waits for a request's head as the test sets it (by default it does not), and counts the heads it
/// is told were taken.
/// </summary>
internal sealed class HeardEnds : IInputEndListener
{
    private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(InputEnd End, InputRemainder Remainder, bool Waiting)> _all = [];
    private int _headsTaken;

    public Task Settled => _settled.Task;

    public bool WaitsForRequestHead { get; set; }

    public int HeadsTaken => Volatile.Read(ref _headsTaken);

    public IReadOnlyList<(InputEnd End, InputRemainder Remainder, bool Waiting)> All
    {
        get
        {
            lock (_all)
            {
                return [.. _all];
            }
        }
    }

    public (InputEnd End, InputRemainder Remainder) Single()
    {
        var (end, remainder, _) = Assert.Single(All);
        return (end, remainder);
    }

    public (InputEnd End, InputRemainder Remainder, bool Waiting) SingleWithWaiting() => Assert.Single(All);

    public void OnInputEnded(InputEnd end, InputRemainder remainder, bool readerWasWaiting)
    {
        lock (_all)
        {
            _all.Add((end, remainder, readerWasWaiting));
        }

        _settled.TrySetResult();
    }

    public void OnHeadTaken() => Interlocked.Increment(ref _headsTaken);
}
