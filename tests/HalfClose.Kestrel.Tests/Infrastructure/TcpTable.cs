using System.Globalization;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>Reads the kernel's TCP socket table (<c>/proc/net/tcp</c>, <c>/proc/net/tcp6</c>).</summary>
public static class TcpTable
{
    public const int Established = 0x01;
    public const int FinWait1 = 0x04;
    public const int FinWait2 = 0x05;

    /// <summary>CLOSE-WAIT: the peer has sent FIN, this side has not closed yet.</summary>
    public const int CloseWait = 0x08;

    /// <summary>
    /// Waits, polling the table (the kernel offers nothing to await), until no socket on <paramref name="port"/> is in a
    /// half-closed state; returns how many are left when <paramref name="timeout"/> passes.
    /// </summary>
    public static Task<int> WaitForNoHalfClosedAsync(int port, TimeSpan timeout) =>
        WaitForNoneAsync(() => Count(port, FinWait1) + Count(port, FinWait2) + Count(port, CloseWait), timeout);

    /// <summary>As <see cref="WaitForNoHalfClosedAsync"/>, for any socket on <paramref name="port"/> but the listener (TIME-WAIT included).</summary>
    public static Task<int> WaitForNoConnectionsAsync(int port, TimeSpan timeout) => WaitForNoneAsync(() => CountConnections(port), timeout);

    private static async Task<int> WaitForNoneAsync(Func<int> count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = count();
            if (left == 0 || DateTime.UtcNow > deadline)
            {
                return left;
            }

            await Task.Delay(50);
        }
    }

    private static readonly string[] Tables = ["/proc/net/tcp", "/proc/net/tcp6"];

    /// <summary>How many sockets with local port <paramref name="port"/> there are, other than the listener.</summary>
    public static int CountConnections(int port) =>
        Enumerable.Range(1, 11).Where(state => state != 0x0A).Sum(state => Count(port, state));

    /// <summary>How many sockets with local port <paramref name="port"/> are in <paramref name="state"/>.</summary>
    public static int Count(int port, int state) =>
        Tables
            .Where(File.Exists)
            .SelectMany(File.ReadLines)
            .Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length > 3 && fields[1].Contains(':', StringComparison.Ordinal))
            .Count(fields =>
                int.Parse(fields[1][(fields[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port &&
                int.Parse(fields[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == state);
}
