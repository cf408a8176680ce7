using System.Net;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// A TLS client that shuts down its write side as soon as its request is sent (TCP FIN in the same flight as the last
/// record, no close_notify), as <c>nc -N</c> does in cleartext: the https endpoint comes from configuration, the policy
/// from <c>builder.WebHost.UseHalfClosePolicy()</c>.
/// </summary>
public sealed class TlsEarlyFinTests
{
    private const string Body5000 = "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n\r\n";
    private const string Chunked = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";

    /// <summary>The requests sent with their FIN: a name, the bytes, how many responses they get.</summary>
    private static readonly (string Name, string Request, int Responses)[] Kinds =
    [
        ("get", HttpText.Get("/"), 1),
        ("post", Body5000 + new string('x', 5000), 1),
        ("chunked", Chunked, 1),
        ("pipelined", HttpText.Get("/slow?ms=50&id=1") + HttpText.Get("/") + HttpText.Get("/slow?ms=10&id=3"), 3),
    ];

    public static TheoryData<Front, string, string, int> Requests() => EveryKind(Front.Kestrel, Front.Yarp);

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task TlsRequestWithFin_ConfiguredHttpsEndpoint_AnsweredInFullThenFin(Front front, string name, string request, int responses)
    {
        await using var servers = await TestServers.StartAsync(front, tls: true, tlsFromConfiguration: true);

        for (var i = 0; i < 10; i++)
        {
            var result = await RawTlsClient.SendAndHalfCloseAsync(servers.TlsPort, request);
            if (result.Ending != Ending.Fin || HttpText.CompleteResponses(result.Text) != responses)
            {
                // What the client alone cannot explain (one clean-clone CI run saw 0 bytes then FIN here; not reproduced since).
                Assert.Fail($"{name} #{i}: {result}; the policy host's log:\n{ServerLog.Text(servers.Logs)}");
            }

            Assert.All(result.StatusCodes, status => Assert.Equal(200, status));
        }
    }

    /// <summary>
    /// Under <c>PipelinedRequests: Discard</c> the FIN asks Kestrel to stop after the request in flight. Below TLS the FIN can
    /// be decided while the handshake still runs, before Kestrel has chosen its protocol: asked then, Kestrel would drop the
    /// connection unanswered. The first request is still answered, in full, then FIN. The second is answered only when it
    /// was already in flight as the FIN was decided (below TLS that is a race: the FIN is decided once it is read).
    /// </summary>
    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task TlsRequestsWithFin_PipelinedDiscard_FirstAnsweredThenFin(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, new Dictionary<string, string?> { ["PipelinedRequests"] = "Discard" }, tls: true, tlsFromConfiguration: true);

        for (var i = 0; i < 20; i++)
        {
            var result = await RawTlsClient.SendAndHalfCloseAsync(servers.TlsPort, HttpText.Get("/") + HttpText.Get("/"));
            var answered = HttpText.CompleteResponses(result.Text);
            if (result.Ending != Ending.Fin || answered is < 1 or > 2 || result.StatusCodes.Count != answered)
            {
                Assert.Fail($"#{i}: {result}; the policy host's log:\n{ServerLog.Text(servers.Logs)}");
            }
        }
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task TlsRequestWithFin_200AtOnceOn500msHandler_AllAnsweredThenFin(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, tls: true, tlsFromConfiguration: true);

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            RawTlsClient.SendAndHalfCloseAsync(servers.TlsPort, HttpText.Get($"/slow?ms=500&id=c{i}"))));

        var failed = results.Where(r => r.Ending != Ending.Fin || HttpText.CompleteResponses(r.Text) != 1).ToArray();
        Assert.True(failed.Length == 0, $"{failed.Length} of 200 not answered in full, e.g. {failed.FirstOrDefault()}");
    }

    public static TheoryData<bool, string, string, int> EndpointPlacements() => EveryKind(true, false);

    /// <summary>Every request kind under each of <paramref name="settings"/>.</summary>
    private static TheoryData<T, string, string, int> EveryKind<T>(params T[] settings)
    {
        var data = new TheoryData<T, string, string, int>();
        foreach (var setting in settings)
        {
            foreach (var (name, request, responses) in Kinds)
            {
                data.Add(setting, name, request, responses);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EndpointPlacements))]
    public async Task TlsRequestWithFin_EndpointPolicyBeforeOrAfterUseHttps_AnsweredInFullThenFin(bool beforeHttps, string name, string request, int responses)
    {
        var app = await TestServers.StartOriginAsync(new Probe(), null, withPolicy: false, kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (beforeHttps)
                {
                    listen.UseHalfClosePolicy();
                }

                listen.UseHttps(TestCertificate.Certificate);
                if (!beforeHttps)
                {
                    listen.UseHalfClosePolicy();
                }
            }));
        await using var _ = app;

        for (var i = 0; i < 10; i++)
        {
            var result = await RawTlsClient.SendAndHalfCloseAsync(TestServers.PortOf(app.Urls.First()), request);

            Assert.True(Ending.Fin == result.Ending, $"{name} #{i}: {result}");
            Assert.True(responses == HttpText.CompleteResponses(result.Text), $"{name} #{i}: {result}");
        }
    }
}
