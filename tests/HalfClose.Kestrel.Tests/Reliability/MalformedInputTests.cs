using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Sockets;
using System.Text;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit.Abstractions;

namespace HalfClose.Kestrel.Tests.Reliability;

/// <summary>
/// Truncated and garbage requests followed by FIN, generated from a fixed seed so that a failure reproduces: each
/// connection ends promptly (long before HalfOpenTimeout) with a defined outcome, never left open.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait(ReliabilitySuite.Category, ReliabilitySuite.Trait)]
public sealed class MalformedInputTests(ITestOutputHelper output)
{
    /// <summary>The generator's seed: the same inputs on every run.</summary>
    private const int Seed = 6_0004;

    /// <summary>Far above any prompt end, far below <see cref="HalfOpenTimeout"/>: a connection that ends only by the timeout fails.</summary>
    private static readonly TimeSpan EndBound = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan HalfOpenTimeout = TimeSpan.FromSeconds(20);

    /// <summary>The answers Kestrel gives to bad input: bad request, request line too long, headers too large, bad version.</summary>
    private static readonly int[] BadInputStatuses = [400, 414, 431, 505];

    private const string CompleteGet = "GET /slow?ms=1&id=cut HTTP/1.1\r\nHost: test\r\nX-Trace: abc\r\n\r\n";

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task TruncatedOrGarbageInputThenFin_EachEndsPromptlyWithBadRequestOrClose_NoLibraryError(Front front)
    {
        using var unobserved = UnobservedExceptions.Watch();
        await using var servers = await TestServers.StartAsync(front, new Dictionary<string, string?> { ["HalfOpenTimeout"] = HalfOpenTimeout.ToString("c") });
        using var halfOpen = new MetricCollector<long>(
            servers.PolicyServices.GetRequiredService<IMeterFactory>(), Reliable.LibraryCategory, "halfclose.active_half_open_connections");
        var cases = Generate(new Random(Seed));

        var results = new ConcurrentBag<(Case Case, RawResult Result)>();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (input, _) =>
            results.Add((input, await SendThenFinAsync(servers.Port, input.Bytes))));

        var halfClosedLeft = await TcpTable.WaitForNoHalfClosedAsync(servers.Port, Reliable.Bound);
        var next = await Reliable.HalfClosedGetAsync(servers.Port);
        var exceptions = unobserved.Collect();
        foreach (var group in results.GroupBy(r => r.Case.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            output.WriteLine(
                $"{front} {group.Key}: {group.Count()} connections; " +
                $"{string.Join(", ", group.GroupBy(r => r.Result.Ending).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"))}; " +
                $"statuses {string.Join(", ", group.SelectMany(r => r.Result.StatusCodes.DefaultIfEmpty(0)).GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{(g.Key == 0 ? "none" : g.Key)}x{g.Count()}"))}; " +
                $"slowest end {group.Max(r => r.Result.Elapsed).TotalMilliseconds:0} ms (bound {EndBound.TotalMilliseconds:0} ms): " +
                $"{group.MaxBy(r => r.Result.Elapsed).Case.Kind}#{group.MaxBy(r => r.Result.Elapsed).Case.Index}");
        }

        output.WriteLine(
            $"{front}: seed {Seed}, {results.Count} connections; half-closed server sockets left {halfClosedLeft}; " +
            $"half-open gauge sum {halfOpen.GetMeasurementSnapshot().Sum(m => m.Value)}; unobserved exceptions {exceptions.Count}");

        Assert.All(results, r =>
        {
            var what = $"seed {Seed}, {r.Case}: {r.Result}";
            Assert.True(r.Result.Ending != Ending.StillOpen, what);
            Assert.True(r.Result.Elapsed < EndBound, what);
            Assert.True(r.Case.IsAllowed(r.Result.StatusCodes), what);
        });
        Assert.Equal(0, halfClosedLeft);
        Assert.True(Reliable.IsAnswered(next), next.ToString());
        Assert.True(exceptions.Count == 0, Reliable.Describe(exceptions));
        var errors = Reliable.Errors(servers.Logs, Reliable.LibraryCategory);
        Assert.True(errors.Count == 0, Reliable.Describe(errors));
        Assert.Equal(0, halfOpen.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    /// <summary>Sends the bytes (as far as the server takes them), FIN, then reads to the server's end within the bound.</summary>
    private static async Task<RawResult> SendThenFinAsync(int port, byte[] bytes)
    {
        await using var client = await RawHttpClient.ConnectAsync(port);
        try
        {
            using var timeout = new CancellationTokenSource(Reliable.Bound);
            await client.Socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
            client.HalfClose();
        }
        catch (SocketException)
        {
            // The server answered and closed before taking it all: the read below sees how it ended.
        }

        return await client.ReadToEndAsync(EndBound + TimeSpan.FromSeconds(1));
    }

    private static List<Case> Generate(Random random)
    {
        var cases = new List<Case>();
        var latin1 = Encoding.Latin1;

        // Random bytes, 1 B to 4 KiB.
        for (var i = 0; i < 40; i++)
        {
            var bytes = new byte[random.Next(1, 4097)];
            random.NextBytes(bytes);
            cases.Add(new Case("random-bytes", i, bytes, BadInputStatuses));
        }

        // A complete GET cut at every position (0: connect and FIN without a byte).
        for (var cut = 0; cut < CompleteGet.Length; cut++)
        {
            cases.Add(new Case("cut-request", cut, latin1.GetBytes(CompleteGet[..cut]), [400]));
        }

        // Headers that never end: up to 60 random header lines, some past Kestrel's 32 KiB limit.
        for (var i = 0; i < 30; i++)
        {
            var text = new StringBuilder("GET / HTTP/1.1\r\nHost: test\r\n");
            var lines = random.Next(0, 61);
            for (var line = 0; line < lines; line++)
            {
                text.Append(Invariant($"X-Junk-{line}: ")).Append(Token(random, random.Next(1, 1500))).Append("\r\n");
            }

            if (random.Next(2) == 0)
            {
                text.Append(Token(random, random.Next(1, 40))); // and a header line cut short
            }

            cases.Add(new Case("endless-headers", i, latin1.GetBytes(text.ToString()), [400, 431]));
        }

        // A body shorter than its Content-Length.
        for (var i = 0; i < 30; i++)
        {
            var declared = random.Next(1, 200_000);
            var sent = random.Next(0, declared);
            var text = $"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {declared}\r\n\r\n{new string('b', sent)}";
            cases.Add(new Case("short-body", i, latin1.GetBytes(text), [400]));
        }

        // Chunked bodies with invalid or truncated chunks. (Kestrel does not look into chunk extensions: "5;\x01" is no bad input.)
        string[] badChunks =
        [
            "zz\r\nhello\r\n0\r\n\r\n",
            "FFFFFFFFFFFFFFFFFFFF\r\n",
            "-5\r\nhello\r\n0\r\n\r\n",
            "\r\n",
            "5\r\nhelloXX0\r\n\r\n",
            "5\r\nhello\r\nG\r\n",
            "100\r\nshort",
            "5\r\nhello\r\n",
            "5\r\nhello\r\n3",
            "0x10\r\n0123456789abcdef\r\n0\r\n\r\n",
            " 5\r\nhello\r\n0\r\n\r\n",
            "5\r\nhello\r\n0\r\nX-Trailer",
        ];
        for (var i = 0; i < 36; i++)
        {
            var chunk = i < badChunks.Length ? badChunks[i] : $"{Token(random, random.Next(1, 12))}\r\n{Token(random, random.Next(0, 64))}";
            var text = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk;
            // An overflowing chunk size is Kestrel's own 500 (an IOException, not a bad request), with the policy or without.
            cases.Add(new Case("bad-chunks", i, latin1.GetBytes(text), chunk.StartsWith("FFFFFFFFFFFFFFFF", StringComparison.Ordinal) ? [400, 500] : [400]));
        }

        // A complete GET, then garbage: the GET is answered, the garbage is a bad request or ignored.
        for (var i = 0; i < 20; i++)
        {
            var garbage = new byte[random.Next(1, 2049)];
            random.NextBytes(garbage);
            cases.Add(new Case("get-then-garbage", i, [.. latin1.GetBytes("GET / HTTP/1.1\r\nHost: test\r\n\r\n"), .. garbage], [200, .. BadInputStatuses], FirstMustBe: 200));
        }

        return cases;
    }

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);

    /// <summary>Random header-value characters (visible ASCII), sometimes with a byte Kestrel rejects.</summary>
    private static string Token(Random random, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = random.Next(50) == 0 ? (char)random.Next(0, 32) : (char)random.Next(33, 127);
        }

        return new string(chars);
    }

    private sealed record Case(string Kind, int Index, byte[] Bytes, int[] Allowed, int? FirstMustBe = null)
    {
        /// <summary>No other answer than the allowed ones (none at all is a close, which is allowed), the first as required.</summary>
        public bool IsAllowed(IReadOnlyList<int> statuses) =>
            statuses.All(Allowed.Contains) && (FirstMustBe is not { } first || (statuses.Count > 0 && statuses[0] == first));

        public override string ToString()
        {
            var text = Encoding.Latin1.GetString(Bytes, 0, Math.Min(Bytes.Length, 160));
            var shown = new StringBuilder();
            foreach (var c in text)
            {
                shown.Append(c is >= ' ' and < '\u007f' ? c.ToString() : $"\\x{(int)c:x2}");
            }

            return $"{Kind}#{Index} ({Bytes.Length} bytes: {shown}{(Bytes.Length > 160 ? "..." : "")})";
        }
    }
}
