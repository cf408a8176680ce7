namespace HalfClose.Kestrel.Internal;

/// <summary>One connection's one timer: armed for the state machine's next wake, stopped for good once it is closed.</summary>
internal sealed class ConnectionTimer(TimeProvider time, Action<object?> callback, object state) : IDisposable
{
    private ITimer? _timer;
    private bool _stopped;

    /// <summary>Fires once, after <paramref name="due"/>; a later call replaces an earlier one.</summary>
    public void Arm(TimeSpan due)
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
            _timer = time.CreateTimer(new TimerCallback(callback), state, due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        _stopped = true;
        _timer?.Dispose();
        _timer = null;
    }
}
