using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HalfClose.Kestrel.Tests.Reliability;

/// <summary>What the reliability tests share: the one half-closed GET, and the checks made after every run.</summary>
internal static class Reliable
{
    public const string LibraryCategory = "HalfClose.Kestrel";

    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    public static string Get(string target) => $"GET {target} HTTP/1.1\r\nHost: test\r\n\r\n";

    /// <summary>Connect, GET /, FIN, read to the server's end.</summary>
    public static Task<RawResult> HalfClosedGetAsync(int port) => RawHttpClient.SendAndHalfCloseAsync(port, Get("/"), Bound);

    /// <summary>One complete 200 with the handler's body, then FIN.</summary>
    public static bool IsAnswered(RawResult result) =>
        result.Ending == Ending.Fin
        && result.StatusCodes is [200]
        && HttpText.CompleteResponses(result.Text) == 1
        && result.Text.Contains("hello", StringComparison.Ordinal);

    /// <summary>Log entries at Error or above, optionally from one category only.</summary>
    public static IReadOnlyList<FakeLogRecord> Errors(FakeLogCollector logs, string? category = null) =>
        logs.GetSnapshot().Where(log => log.Level >= LogLevel.Error && (category is null || log.Category == category)).ToArray();

    public static string Describe(IEnumerable<FakeLogRecord> records) =>
        string.Join(Environment.NewLine, records.Take(5).Select(log => $"{log.Level} {log.Category} {log.Id}: {log.Message} {log.Exception}"));

    public static string Describe(IEnumerable<Exception> exceptions) =>
        string.Join(Environment.NewLine, exceptions.Take(5).Select(ex => ex.ToString()));

    /// <summary>Polls a condition that offers nothing to await (a socket's TCP state) until it holds or the timeout passes.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <summary>Polls (the kernel offers nothing to await) until no socket is left on <paramref name="port"/> but the listener.</summary>
    public static async Task<int> WaitForNoConnectionsAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = TcpTable.CountConnections(port);
            if (left == 0 || DateTime.UtcNow > deadline)
            {
                return left;
            }

            await Task.Delay(50);
        }
    }
}
