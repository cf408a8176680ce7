using System.Globalization;
using System.Runtime.InteropServices;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// A process's CPU time, user and system, over all its threads (those that have exited too); Linux. First the
/// process's CPU-time clock (<c>clock_getcpuclockid</c> + <c>clock_gettime</c>, nanoseconds), else utime + stime of
/// <c>/proc/PID/stat</c> (clock ticks, <c>sysconf(_SC_CLK_TCK)</c>, 10 ms as a rule). Not <c>/proc/PID/schedstat</c>:
/// that one is the main thread's alone.
/// </summary>
internal static class ProcCpu
{
    private const int ClockTicksName = 2; // _SC_CLK_TCK

    private static readonly Lazy<Method> Chosen = new(Choose);

    // Of user, nice, system, idle, iowait, irq, softirq, steal: all but idle and iowait.
    private static readonly int[] BusyFields = [0, 1, 2, 5, 6, 7];

    private enum Method
    {
        None,
        Clock,
        Stat,
    }

    /// <summary>How the CPU time is read, for the report.</summary>
    public static string Source => Chosen.Value switch
    {
        Method.Clock => "the process's CPU-time clock (clock_gettime, ns)",
        Method.Stat => $"utime+stime of /proc/PID/stat ({1000.0 / ClockTicks:0.#} ms ticks)",
        _ => "n/a (neither clock_gettime nor /proc/PID/stat could be read)",
    };

    private static long ClockTicks { get; } = ReadClockTicks();

    /// <summary>The CPU time the process has used so far; null when it cannot be read.</summary>
    public static TimeSpan? Time(int pid) => Chosen.Value switch
    {
        Method.Clock => FromClock(pid),
        Method.Stat => FromStat(pid),
        _ => null,
    };

    /// <summary>
    /// The time all CPUs of the machine have been busy so far (idle and iowait left out) and their total time, from the
    /// first line of <c>/proc/stat</c>; null when it cannot be read.
    /// </summary>
    public static (TimeSpan Busy, TimeSpan Total)? MachineTimes()
    {
        try
        {
            // "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (guest time is in user already).
            using var reader = new StreamReader("/proc/stat");
            var fields = reader.ReadLine()?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
            if (fields is not ["cpu", _, _, _, _, _, _, _, _, ..])
            {
                return null;
            }

            var ticks = fields[1..9].Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var busy = BusyFields.Sum(i => ticks[i]);
            return (FromTicks(busy), FromTicks(ticks.Sum()));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static Method Choose()
    {
        var self = Environment.ProcessId;
        return FromClock(self) is not null ? Method.Clock : FromStat(self) is not null ? Method.Stat : Method.None;
    }

    private static TimeSpan? FromClock(int pid)
    {
        try
        {
            if (NativeMethods.clock_getcpuclockid(pid, out var clock) == 0 && NativeMethods.clock_gettime(clock, out var time) == 0)
            {
                return TimeSpan.FromTicks((time.Seconds * TimeSpan.TicksPerSecond) + (time.Nanoseconds / 100));
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
        }

        return null;
    }

    private static TimeSpan? FromStat(int pid)
    {
        try
        {
            // "pid (comm) state ppid ...": utime and stime are fields 14 and 15, the 12th and 13th after the comm.
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return FromTicks(ticks);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static TimeSpan FromTicks(long clockTicks) => TimeSpan.FromTicks(clockTicks * TimeSpan.TicksPerSecond / ClockTicks);

    private static long ReadClockTicks()
    {
        try
        {
            var ticks = NativeMethods.sysconf(ClockTicksName);
            return ticks > 0 ? ticks : 100;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return 100;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct TimeSpec
    {
        public readonly nint Seconds;
        public readonly nint Nanoseconds;
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = false)]
        public static extern int clock_getcpuclockid(int pid, out int clock);

        [DllImport("libc", SetLastError = false)]
        public static extern int clock_gettime(int clock, out TimeSpec time);

        [DllImport("libc", SetLastError = false)]
        public static extern nint sysconf(int name);
    }
}
