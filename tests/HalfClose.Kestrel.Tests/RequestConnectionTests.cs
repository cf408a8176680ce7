using System.IO.Pipelines;
using HalfClose.Kestrel.Internal;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// How the request middleware finds its request's connection: the one whose read last returned on the request's thread,
/// when that is the request's own; otherwise looked up in the request's features. Whichever read came last, a request
/// gets its own connection, or none.
/// </summary>
public sealed class RequestConnectionTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    private (HalfCloseConnection Connection, FakeConnection Transport, IFeatureCollection RequestFeatures) Start(string id)
    {
        var log = new FakeLogger();
        var source = new HalfClosePolicySource(null, o => o.Linger = LingerMode.Off, log);
        var context = new HalfCloseContext(source, log, new HalfCloseMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()), new FakeTimeProvider(), tracksRequests: true);
        var transport = new FakeConnection { ConnectionId = id };
        var connection = new HalfCloseConnection(transport, socket: null, context);
        connection.Start();

        // Kestrel's request features fall back to the connection's, one collection for every request of the connection.
        return (connection, transport, new FeatureCollection(transport.Features));
    }

    /// <summary>Kestrel reads a request's bytes through the connection's input, on this thread (nothing here awaits).</summary>
    private static void ReadOnThisThread(FakeConnection transport, HalfCloseConnection connection)
    {
        var request = "GET / HTTP/1.1\r\n\r\n"u8;
        var writer = transport.ClientInput.Writer;
        request.CopyTo(writer.GetSpan(request.Length));
        writer.Advance(request.Length);
        Assert.True(CompletedAtOnce(writer.FlushAsync()));

        var input = ((IDuplexPipe)connection).Input;
        Assert.True(input.TryRead(out var result));
        input.AdvanceTo(result.Buffer.End);
    }

    private static bool CompletedAtOnce(ValueTask<FlushResult> flush) => flush.IsCompletedSuccessfully;

    [Fact]
    public void ItsOwnReadLast_ItsOwnConnection()
    {
        var (connection, transport, features) = Start("a");
        Assert.Same(connection, HalfCloseConnection.OfRequest(features));

        ReadOnThisThread(transport, connection);

        Assert.Same(connection, HalfCloseConnection.OfRequest(features));
        Assert.Same(connection, HalfCloseConnection.OfRequest(features));
    }

    [Fact]
    public void AnotherConnectionsReadLast_ItsOwnConnection()
    {
        var (a, transportA, featuresA) = Start("a");
        var (b, _, featuresB) = Start("b");
        Assert.Same(a, HalfCloseConnection.OfRequest(featuresA));
        Assert.Same(b, HalfCloseConnection.OfRequest(featuresB));

        ReadOnThisThread(transportA, a);

        Assert.Same(b, HalfCloseConnection.OfRequest(featuresB));
        Assert.Same(a, HalfCloseConnection.OfRequest(featuresA));
    }

    [Fact]
    public void FirstRequestAfterAnotherConnectionsRead_LookedUp()
    {
        var (a, transportA, featuresA) = Start("a");
        Assert.Same(a, HalfCloseConnection.OfRequest(featuresA));
        ReadOnThisThread(transportA, a);

        var (b, _, featuresB) = Start("b");

        Assert.Same(b, HalfCloseConnection.OfRequest(featuresB));
    }

    [Fact]
    public void RequestWithoutPolicy_None_WhateverReadLast()
    {
        var (a, transportA, featuresA) = Start("a");
        Assert.Same(a, HalfCloseConnection.OfRequest(featuresA));
        ReadOnThisThread(transportA, a);

        Assert.Null(HalfCloseConnection.OfRequest(new FeatureCollection()));
    }
}
