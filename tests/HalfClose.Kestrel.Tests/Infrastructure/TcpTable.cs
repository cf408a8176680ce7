using System.Globalization;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>Reads the kernel's TCP socket table (<c>/proc/net/tcp</c>, <c>/proc/net/tcp6</c>).</summary>
public static class TcpTable
{
    /// <summary>CLOSE-WAIT: the peer has sent FIN, this side has not closed yet.</summary>
    public const int CloseWait = 0x08;

    private static readonly string[] Tables = ["/proc/net/tcp", "/proc/net/tcp6"];

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
