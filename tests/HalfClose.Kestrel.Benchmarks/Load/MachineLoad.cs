namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// How busy the machine was during the measured rounds: the CPU time of the run's own processes (the runner with its
/// load client, the host driven, the origin behind a proxy) and of everything else, from <c>/proc/stat</c>. Other
/// processes' CPU is noise the ratios' intervals carry.
/// </summary>
internal sealed class MachineLoad
{
    private TimeSpan _total;
    private TimeSpan _busy;
    private TimeSpan _ours;

    /// <summary>Adds one round of one host: the machine's CPU time, busy and in all, and the run's own; a failed reading leaves it out.</summary>
    public void Add(TimeSpan? busy, TimeSpan? total, TimeSpan? ours)
    {
        if (busy is { } b && total is { } t && ours is { } o)
        {
            _busy += b;
            _total += t;
            _ours += o;
        }
    }

    public void Print()
    {
        if (_total <= TimeSpan.Zero)
        {
            Console.WriteLine("Machine load during the rounds: n/a (/proc/stat could not be read).");
            return;
        }

        var others = _busy > _ours ? _busy - _ours : TimeSpan.Zero;
        Console.WriteLine($"Machine load during the rounds, share of its {Environment.ProcessorCount} CPUs' time: this run {_ours / _total:P0}, " +
            $"other processes {others / _total:P0}, idle {Math.Max(0, 1 - (_busy / _total)):P0}.");
    }
}
