namespace HalfClose.Kestrel.Internal;

/// <summary>
/// One connection's one timer: armed for the state machine's next wake, stopped for good once it is closed. A struct kept
/// in the connection and used under its lock; the timer itself is created only when a first wait begins.
/// </summary>
internal struct ConnectionTimer
{
    private ITimer? _timer;
    private bool _stopped;

    /// <summary>Fires <paramref name="callback"/> once, after <paramref name="due"/>; a later call replaces an earlier one.</summary>
    public void Arm(TimeSpan due, TimeProvider time, TimerCallback callback, object state)
    {
        if (_stopped)
        {
            return;
        }

        if (due < TimeSpan.Zero)
        {
            due = TimeSpan.Zero;
        }

        if (_timer is null)
        {
            _timer = time.CreateTimer(callback, state, due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    public void Stop()
    {
        _stopped = true;
        _timer?.Dispose();
        _timer = null;
    }
}
