using System.Buffers;
using System.Net;
using System.Net.Sockets;
using HalfClose.Kestrel.Internal;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// The policy's own send path over a real loopback socket pair: every byte, in order, then FIN after the last one; and
/// the pooled send path serving a second connection as if new. Watched (the transport sends, a pipe standing in for its
/// send loop here): the close waits for the transport's last byte.
/// </summary>
public sealed class HalfCloseOutputTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(100)]
    [InlineData(3 * 1024 * 1024)]
    public async Task EveryByteSentInOrder_ThenFin_AndThePooledPathServesTheNextConnectionAfresh(int size)
    {
        // A pool of its own: no other test's connections share it.
        using var pool = new PoolOfOwn();
        var first = await SendAsync(pool, size, Pattern(size, seed: 1));
        var second = await SendAsync(pool, size, Pattern(size, seed: 2));

        Assert.Same(first, second);
    }

    [Fact]
    public async Task PeerResets_SendFails_LoopEnds_NotReturnedWhileSending()
    {
        using var pool = new PoolOfOwn();
        var (server, client) = await PairAsync();
        using var _ = server;
        var output = Create(pool, server);
        output.Start();
        client.LingerState = new LingerOption(true, 0);
        client.Close();

        // Keep writing until the send path notices the reset.
        var block = new byte[64 * 1024];
        for (var i = 0; i < 1000 && !output.Failed; i++)
        {
            var flush = await output.Writer.WriteAsync(block).AsTask().WaitAsync(Bound);
            if (flush.IsCompleted)
            {
                break;
            }
        }

        await output.CompleteAsync().AsTask().WaitAsync(Bound);
        Assert.True(output.Failed);
        output.Return();
        Assert.Same(output, HalfCloseOutput.For(Connection(pool), server));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task LoopEnd_AsksItsOwnerOnceAfterTheLastByte_HandedOverOnlyWhenTaken(bool ownerTakes)
    {
        using var pool = new PoolOfOwn();
        var (server, client) = await PairAsync();
        using var _ = server;
        using var __ = client;
        var owner = new Owner(ownerTakes);
        var output = HalfCloseOutput.For(Connection(pool), server, owner);
        output.Start();
        await output.Writer.WriteAsync(Pattern(100, seed: 3)).AsTask().WaitAsync(Bound);
        Assert.Equal(0, owner.Asked);

        await output.CompleteAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(1, owner.Asked);
        Assert.Equal(ownerTakes, output.HandedOver);
        Assert.False(output.FinSent);

        // Every byte went out before the owner was asked; the send path sent no FIN of its own.
        var received = new byte[200];
        var total = 0;
        while (total < 100)
        {
            total += await client.ReceiveAsync(received.AsMemory(total)).AsTask().WaitAsync(Bound);
        }

        Assert.Equal(100, total);
        output.Return();
        Assert.False(output.HandedOver);
    }

    [Fact]
    public async Task PassThrough_BeforeAnyWrite_TheTransportSendsAndCloses_RefusedOnceAnythingWasWritten()
    {
        using var pool = new PoolOfOwn();
        var (server, client) = await PairAsync();
        using var _ = server;
        using var __ = client;
        var connection = Connection(pool);
        var owner = new Owner(takes: true);
        var output = HalfCloseOutput.For(connection, server, owner);
        output.Start();

        Assert.True(output.TryPassThrough());
        Assert.True(output.HandedOver);
        Assert.False(output.TryPassThrough());

        // Kestrel's bytes and its completion reach the transport's own output; the send path has nothing to wait for.
        await output.Writer.WriteAsync(Pattern(100, seed: 4)).AsTask().WaitAsync(Bound);
        output.Writer.Complete();
        Assert.True(output.CompleteAsync().AsTask().IsCompletedSuccessfully);
        var sent = await connection.ServerOutput.Reader.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(Pattern(100, seed: 4), sent.Buffer.ToArray());
        Assert.True(sent.IsCompleted);
        Assert.Equal(0, owner.Asked);
        Assert.False(output.FinSent);
        output.Return();

        // The pooled path serves the next connection through its own pipe again; once a byte was written, no pass-through.
        var (server2, client2) = await PairAsync();
        using var ___ = server2;
        using var ____ = client2;
        var next = Create(pool, server2);
        Assert.Same(output, next);
        Assert.False(next.HandedOver);
        next.Start();
        await next.Writer.WriteAsync(Pattern(100, seed: 5)).AsTask().WaitAsync(Bound);
        Assert.False(next.TryPassThrough());
        Assert.True(await next.ShutdownSendAsync().WaitAsync(Bound));
        await next.CompleteAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(Pattern(100, seed: 5), await ReceiveToEndAsync(client2, 100).WaitAsync(Bound));
        next.Return();
    }

    [Fact]
    public async Task Watched_TheTransportSends_TheCloseWaitsUntilItSentEverything_ThenFinAfterTheLastByte()
    {
        Assert.True(TransportPipe.Available, "This runtime's pipe no longer shows its unsent bytes: every connection takes the own send path.");
        using var pool = new PoolOfOwn();
        var (server, client) = await PairAsync();
        using var _ = server;
        using var __ = client;
        var owner = new Owner(takes: false);
        var (connection, output) = Watched(pool, server, owner);

        // Kestrel's bytes go to the transport's own output; its completion stops at the send path, which asks the owner.
        await output.Writer.WriteAsync(Pattern(100, seed: 6)).AsTask().WaitAsync(Bound);
        output.Writer.Complete();
        Assert.Equal(1, owner.Asked);
        Assert.False(output.HandedOver);
        var read = await connection.ServerOutput.Reader.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.False(read.IsCompleted);
        Assert.Equal(100, read.Buffer.Length);

        // The close waits while the transport holds the bytes, and goes on once it has sent them.
        var sent = output.CompleteAsync().AsTask();
        await Task.Delay(50);
        Assert.False(sent.IsCompleted);
        await SendAsTheTransportAsync(connection, server, read);
        await sent.WaitAsync(Bound);
        Assert.False(output.Failed);
        Assert.True(output.SendFin());
        Assert.Equal(Pattern(100, seed: 6), await ReceiveToEndAsync(client, 100).WaitAsync(Bound));
        output.Return();
    }

    [Fact]
    public async Task KestrelsSocketTransport_ItsOutputCanBeWatched()
    {
        var seen = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => connection =>
        {
            seen.TrySetResult(TransportPipe.CanWatch(connection.Transport.Output));
            return next(connection);
        })));
        await using var app = builder.Build();
        app.MapGet("/", () => "ok");
        await app.StartAsync();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new Uri(app.Urls.First()).Port is var port ? new IPEndPoint(IPAddress.Loopback, port) : null!).WaitAsync(Bound);

        Assert.True(await seen.Task.WaitAsync(Bound), "The socket transport's output is not a watchable pipe: every connection takes the own send path.");
        await app.StopAsync();
    }

    [Fact]
    public async Task Watched_ShutdownSend_FinOnceTheTransportSentTheEarlierBytes_LaterOnesDropped()
    {
        using var pool = new PoolOfOwn();
        var (server, client) = await PairAsync();
        using var _ = server;
        using var __ = client;
        var (connection, output) = Watched(pool, server, new Owner(takes: false));
        await output.Writer.WriteAsync(Pattern(100, seed: 7)).AsTask().WaitAsync(Bound);

        var fin = output.ShutdownSendAsync();
        await output.Writer.WriteAsync(Pattern(50, seed: 8)).AsTask().WaitAsync(Bound);
        Assert.False(fin.IsCompleted);

        // The transport's send loop: what it was given before the shutdown, and nothing after it.
        var read = await connection.ServerOutput.Reader.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(100, read.Buffer.Length);
        await SendAsTheTransportAsync(connection, server, read);
        Assert.True(await fin.WaitAsync(Bound));
        Assert.True(output.FinSent);
        Assert.Equal(Pattern(100, seed: 7), await ReceiveToEndAsync(client, 150).WaitAsync(Bound));
        output.Writer.Complete();
        await output.CompleteAsync().AsTask().WaitAsync(Bound);
        output.Return();
    }

    [Fact]
    public async Task Watched_TransportClosesBeforeSending_TheCloseEndsFailed()
    {
        using var pool = new PoolOfOwn();
        var (server, client) = await PairAsync();
        using var _ = server;
        using var __ = client;
        var (connection, output) = Watched(pool, server, new Owner(takes: false));
        await output.Writer.WriteAsync(Pattern(100, seed: 9)).AsTask().WaitAsync(Bound);
        output.Writer.Complete();

        var sent = output.CompleteAsync().AsTask();
        connection.CloseTransport();
        await sent.WaitAsync(Bound);
        Assert.True(output.Failed);
        output.Return();
    }

    private static async Task<HalfCloseOutput> SendAsync(PoolOfOwn pool, int size, byte[] data)
    {
        var (server, client) = await PairAsync();
        using (server)
        using (client)
        {
            var output = Create(pool, server);
            Assert.False(output.FinSent);
            Assert.False(output.Failed);
            output.Start();
            var received = ReceiveToEndAsync(client, size);
            for (var offset = 0; offset < size; offset += 7000)
            {
                await output.Writer.WriteAsync(data.AsMemory(offset, Math.Min(7000, size - offset))).AsTask().WaitAsync(Bound);
            }

            Assert.True(await output.ShutdownSendAsync().WaitAsync(Bound));
            await output.CompleteAsync().AsTask().WaitAsync(Bound);

            Assert.Equal(data, await received.WaitAsync(Bound));
            Assert.True(output.FinSent);
            Assert.False(output.Failed);
            output.Return();
            return output;
        }
    }

    /// <summary>A started send path on <paramref name="server"/> whose transport output (a pipe) is watched.</summary>
    private static (FakeConnection Connection, ISendPath Output) Watched(PoolOfOwn pool, Socket server, ISendPathOwner owner)
    {
        var connection = Connection(pool);
        var output = Assert.IsType<WatchedOutput>(SendPaths.For(connection, server, owner, watchTransport: true));
        output.Start();
        return (connection, output);
    }

    /// <summary>What the socket transport's send loop does with what it read: sends it, then consumes it.</summary>
    private static async Task SendAsTheTransportAsync(FakeConnection connection, Socket server, System.IO.Pipelines.ReadResult read)
    {
        foreach (var segment in read.Buffer)
        {
            await server.SendAsync(segment);
        }

        connection.ServerOutput.Reader.AdvanceTo(read.Buffer.End);
    }

    private static HalfCloseOutput Create(PoolOfOwn pool, Socket socket) =>
        HalfCloseOutput.For(Connection(pool), socket);

    private static FakeConnection Connection(PoolOfOwn pool)
    {
        var connection = new FakeConnection();
        connection.Features.Set<IMemoryPoolFeature>(pool);
        return connection;
    }

    /// <summary>Reads until FIN: everything the server sent.</summary>
    private static async Task<byte[]> ReceiveToEndAsync(Socket client, int size)
    {
        var all = new byte[size + 1];
        var total = 0;
        while (true)
        {
            var read = await client.ReceiveAsync(all.AsMemory(total));
            if (read == 0)
            {
                return all[..total];
            }

            total += read;
        }
    }

    private static byte[] Pattern(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static async Task<(Socket Server, Socket Client)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(Bound);
        return (await accept.WaitAsync(Bound), client);
    }

    /// <summary>Takes the close or not, and counts how often it was asked.</summary>
    private sealed class Owner(bool takes) : ISendPathOwner
    {
        public int Asked { get; private set; }

        public bool TryHandOverClose()
        {
            Asked++;
            return takes;
        }
    }

    private sealed class PoolOfOwn : MemoryPool<byte>, IMemoryPoolFeature
    {
        public override int MaxBufferSize => Shared.MaxBufferSize;

        public MemoryPool<byte> MemoryPool => this;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1) => Shared.Rent(minBufferSize);

        protected override void Dispose(bool disposing)
        {
        }
    }
}
