using System.Text.RegularExpressions;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>Just enough HTTP/1.1 for the tests: a GET to send, and response parsing for assertions (status lines, complete bodies).</summary>
public static partial class HttpText
{
    /// <summary>A <c>GET</c> request's head, with <paramref name="headers"/> (each ending in CRLF) after <c>Host</c>.</summary>
    public static string Get(string target, string headers = "") => $"GET {target} HTTP/1.1\r\nHost: test\r\n{headers}\r\n";

    public static IReadOnlyList<int> StatusCodes(string text) =>
        StatusLine().Matches(text).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    /// <summary>
    /// How many complete responses the text holds. Knows Content-Length and chunked bodies, which is all the
    /// test servers send.
    /// </summary>
    public static int CompleteResponses(string text)
    {
        var count = 0;
        var position = 0;
        while (true)
        {
            var headersEnd = text.IndexOf("\r\n\r\n", position, StringComparison.Ordinal);
            if (headersEnd < 0)
            {
                return count;
            }

            var headers = text[position..headersEnd];
            var bodyStart = headersEnd + 4;
            var length = ContentLength().Match(headers);
            if (length.Success)
            {
                var end = bodyStart + int.Parse(length.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (end > text.Length)
                {
                    return count;
                }

                position = end;
            }
            else if (Chunked().IsMatch(headers))
            {
                var end = text.IndexOf("\r\n0\r\n\r\n", bodyStart - 2, StringComparison.Ordinal);
                if (end < 0)
                {
                    return count;
                }

                position = end + 7;
            }
            else
            {
                position = bodyStart;
            }

            count++;
        }
    }

    [GeneratedRegex(@"(?m)^HTTP/1\.1 (\d{3}) ")]
    private static partial Regex StatusLine();

    [GeneratedRegex(@"(?im)^content-length:\s*(\d+)")]
    private static partial Regex ContentLength();

    [GeneratedRegex(@"(?im)^transfer-encoding:\s*chunked")]
    private static partial Regex Chunked();
}
