using HalfClose.Kestrel.Tests.Infrastructure;

namespace HalfClose.Kestrel.Tests;

/// <summary>The client's FIN under Serve and Abort, on Kestrel directly and through the YARP sample.</summary>
public sealed class ClientFinTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static Dictionary<string, string?> Policy(string clientFin = "Serve", string pipelined = "Serve", string? timeout = null) => new()
    {
        ["ClientFin"] = clientFin,
        ["PipelinedRequests"] = pipelined,
        ["HalfOpenTimeout"] = timeout ?? "00:00:30",
    };

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task FastGet_ThenFin_Serve_Answers200ThenFin(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy());

        var result = await RawHttpClient.SendAndHalfCloseAsync(servers.Port, HttpText.Get("/"));

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal([200], result.StatusCodes);
        Assert.Equal(1, HttpText.CompleteResponses(result.Text));
        Assert.Contains("hello", result.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task SlowHandler_ThenFin_Serve_Answers200AndRequestNotAborted(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy());

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(HttpText.Get("/slow?ms=400&id=a"));
        await servers.Probe.Started("a").WaitAsync(Bound);
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal([200], result.StatusCodes);
        Assert.Contains("slow a done", result.Text, StringComparison.Ordinal);
        Assert.False(servers.Probe.WasAborted("a"));
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task SlowHandler_ThenFin_Abort_NoBytesAndRequestAborted(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy(clientFin: "Abort"));

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(HttpText.Get("/slow?ms=5000&id=a"));
        await servers.Probe.Started("a").WaitAsync(Bound);
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.NotEqual(Ending.StillOpen, result.Ending);
        Assert.Empty(result.Bytes);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(4), result.ToString());
        await servers.Probe.Aborted("a").WaitAsync(Bound);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task WaitForFinHandler_ThenFin_FeatureFiresAndRequestNotAborted(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy());

        var result = await RawHttpClient.SendAndHalfCloseAsync(servers.Port, HttpText.Get("/wait-fin?id=a"));

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal([200], result.StatusCodes);
        if (front == Front.Kestrel)
        {
            Assert.Contains("supported=True halfClosed=True aborted=False", result.Text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task ThreePipelinedRequests_ThenFin_Serve_AnswersAllThreeInOrder(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy());

        var result = await RawHttpClient.SendAndHalfCloseAsync(
            servers.Port, HttpText.Get("/slow?ms=300&id=1") + HttpText.Get("/slow?ms=10&id=2") + HttpText.Get("/slow?ms=10&id=3"));

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal([200, 200, 200], result.StatusCodes);
        var first = result.Text.IndexOf("slow 1 done", StringComparison.Ordinal);
        var second = result.Text.IndexOf("slow 2 done", StringComparison.Ordinal);
        var third = result.Text.IndexOf("slow 3 done", StringComparison.Ordinal);
        Assert.True(first >= 0 && first < second && second < third, result.Text);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task ThreePipelinedRequests_ThenFin_Discard_AnswersOnlyTheFirst(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy(pipelined: "Discard"));

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(HttpText.Get("/slow?ms=1000&id=1") + HttpText.Get("/slow?ms=10&id=2") + HttpText.Get("/slow?ms=10&id=3"));
        await servers.Probe.Started("1").WaitAsync(Bound);
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal([200], result.StatusCodes);
        Assert.Contains("slow 1 done", result.Text, StringComparison.Ordinal);
        Assert.Contains("Connection: close", result.Text, StringComparison.OrdinalIgnoreCase);
        Assert.False(servers.Probe.Started("2").IsCompleted);
    }

    /// <summary>
    /// The FIN in the same write as three pipelined requests (<c>nc -N</c>): it may be decided before Kestrel has begun the
    /// first request, and Kestrel resets keep-alive as a request begins. The first request waits for the FIN's decision.
    /// </summary>
    [Fact]
    public async Task ThreePipelinedRequestsWithFin_Discard_AnswersOnlyTheFirst_EveryTry()
    {
        await using var servers = await TestServers.StartAsync(Front.Kestrel, Policy(pipelined: "Discard"));

        for (var i = 0; i < 10; i++)
        {
            var three = HttpText.Get($"/wait-fin?id={i}a") + HttpText.Get($"/slow?ms=10&id={i}b") + HttpText.Get($"/slow?ms=10&id={i}c");
            var result = await RawHttpClient.SendAndHalfCloseAsync(servers.Port, three);

            Assert.Equal(Ending.Fin, result.Ending);
            Assert.Equal([200], result.StatusCodes);
            Assert.Contains("halfClosed=True", result.Text, StringComparison.Ordinal);
            Assert.Contains("Connection: close", result.Text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task ThreePipelinedRequests_ThenFin_Abort_AnswersNone(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy(clientFin: "Abort"));

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(HttpText.Get("/slow?ms=5000&id=1") + HttpText.Get("/slow?ms=10&id=2") + HttpText.Get("/slow?ms=10&id=3"));
        await servers.Probe.Started("1").WaitAsync(Bound);
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.NotEqual(Ending.StillOpen, result.Ending);
        Assert.Empty(result.Bytes);
        await servers.Probe.Aborted("1").WaitAsync(Bound);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task PostWithContentLength_ThenFin_Serve_BodyReadAndAnswered(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy());
        var body = new string('x', 100_000);

        var result = await RawHttpClient.SendAndHalfCloseAsync(
            servers.Port, $"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {body.Length}\r\n\r\n{body}");

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal([200], result.StatusCodes);
        Assert.Contains("received 100000 bytes", result.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task ChunkedPost_ThenFin_Serve_BodyReadAndAnswered(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy());

        var result = await RawHttpClient.SendAndHalfCloseAsync(
            servers.Port,
            "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal([200], result.StatusCodes);
        Assert.Contains("received 11 bytes", result.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BodysRestWithFin_WhileTheHandlerWaitsForIt_BodyReadWholeAndAnswered(bool chunked)
    {
        // The handler's body read waits; the rest of the body and the FIN then come in one segment (corked), and so in one
        // read: Kestrel's body reader must not see the end before it has the bytes before it. (Kestrel alone: YARP sends
        // the origin the body's first bytes only with more, so the origin's handler never tells it has begun.)
        await using var servers = await TestServers.StartAsync(Front.Kestrel, Policy());
        var (head, first, rest) = chunked
            ? ("Transfer-Encoding: chunked", "5\r\nhello\r\n", "6\r\n world\r\n0\r\n\r\n")
            : ("Content-Length: 11", "hello", " world");
        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync($"POST /echo?id=rest HTTP/1.1\r\nHost: test\r\n{head}\r\n\r\n{first}");
        await servers.Probe.Started("rest").WaitAsync(Bound);

        await client.SendWithFinAsync(rest);
        var result = await client.ReadToEndAsync();

        Assert.Equal(Ending.Fin, result.Ending);
        Assert.Equal([200], result.StatusCodes);
        Assert.Contains("received 11 bytes", result.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Front.Kestrel, "Serve")]
    [InlineData(Front.Kestrel, "Abort")]
    [InlineData(Front.Yarp, "Serve")]
    [InlineData(Front.Yarp, "Abort")]
    public async Task FinInsideHeaders_ClosedPromptlyWith400OrNothing(Front front, string clientFin)
    {
        await using var servers = await TestServers.StartAsync(front, Policy(clientFin));

        var result = await RawHttpClient.SendAndHalfCloseAsync(servers.Port, "GET / HTTP/1.1\r\nHost: te");

        Assert.NotEqual(Ending.StillOpen, result.Ending);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(5), result.ToString());
        if (clientFin == "Serve")
        {
            Assert.Equal([400], result.StatusCodes);
        }
        else
        {
            Assert.All(result.StatusCodes, status => Assert.Equal(400, status));
        }
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task FinInsideBody_ClosedPromptlyWithoutSuccess(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy());

        var result = await RawHttpClient.SendAndHalfCloseAsync(
            servers.Port, "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nonly twenty bytes...");

        Assert.NotEqual(Ending.StillOpen, result.Ending);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(5), result.ToString());
        Assert.DoesNotContain(200, result.StatusCodes);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task ResetAfterRequest_RequestAborted(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy());

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(HttpText.Get("/hang?id=a"));
        await servers.Probe.Started("a").WaitAsync(Bound);
        client.Reset();

        await servers.Probe.Aborted("a").WaitAsync(Bound);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task FinThenReset_WhileHalfOpen_RequestAborted(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy());

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(HttpText.Get("/hang?id=a"));
        await servers.Probe.Started("a").WaitAsync(Bound);
        client.HalfClose();
        var stillOpen = await client.ReadToEndAsync(TimeSpan.FromMilliseconds(500));
        Assert.Equal(Ending.StillOpen, stillOpen.Ending);
        Assert.False(servers.Probe.WasAborted("a"));

        client.Reset();

        await servers.Probe.Aborted("a").WaitAsync(Bound);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task KeepAliveClient_NeverHalfCloses_Unchanged(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy());

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        for (var i = 0; i < 3; i++)
        {
            await client.SendAsync(HttpText.Get("/"));
            var response = await client.ReadResponsesAsync(1);
            Assert.Equal([200], HttpText.StatusCodes(response));
        }

        var idle = await client.ReadToEndAsync(TimeSpan.FromMilliseconds(300));
        Assert.Equal(Ending.StillOpen, idle.Ending);
        Assert.Empty(idle.Bytes);
    }

    [Theory]
    [InlineData(Front.Kestrel)]
    [InlineData(Front.Yarp)]
    public async Task HandlerNeverFinishes_AfterFin_ClosedAtHalfOpenTimeout(Front front)
    {
        await using var servers = await TestServers.StartAsync(front, Policy(timeout: "00:00:01"));

        await using var client = await RawHttpClient.ConnectAsync(servers.Port);
        await client.SendAsync(HttpText.Get("/hang?id=a"));
        await servers.Probe.Started("a").WaitAsync(Bound);
        client.HalfClose();
        var result = await client.ReadToEndAsync();

        Assert.NotEqual(Ending.StillOpen, result.Ending);
        Assert.True(result.Elapsed >= TimeSpan.FromMilliseconds(900), result.ToString());
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(4), result.ToString());
        await servers.Probe.Aborted("a").WaitAsync(Bound);
        Assert.Contains(servers.Logs.GetSnapshot(), log => log.Id.Name == "HalfOpenTimedOut");
    }
}
