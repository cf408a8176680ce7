namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>A process's resident memory from <c>/proc/PID/status</c> (Linux).</summary>
internal static class ProcMemory
{
    /// <summary>
    /// Resets the process's peak resident set size (VmHWM) to its current one (<c>clear_refs</c> 5, Linux 4.0+),
    /// so that the next <see cref="PeakBytes"/> is the peak since now. False when the kernel does not allow it:
    /// the peak then covers the process's whole life.
    /// </summary>
    public static bool TryResetPeak(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Peak resident set size (VmHWM) in bytes, or 0 when it cannot be read.</summary>
    public static long PeakBytes(int pid) => Field(pid, "VmHWM:");

    /// <summary>Current resident set size (VmRSS) in bytes, or 0 when it cannot be read.</summary>
    public static long ResidentBytes(int pid) => Field(pid, "VmRSS:");

    private static long Field(int pid, string name)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    // "VmHWM:     123456 kB"
                    var value = line.AsSpan(name.Length).Trim();
                    return long.Parse(value[..value.IndexOf(' ')], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }
}
