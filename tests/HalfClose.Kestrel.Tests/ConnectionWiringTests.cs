using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using HalfClose.Kestrel.Internal;
using HalfClose.Kestrel.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// One connection's state machine wired to its input, its timer and its effects, on a fake clock and a fake socket
/// state: every deadline is reached by advancing time, never by waiting for it. (Real sockets prove the rest.)
/// </summary>
[Collection(MeterListeners.Name)]
public sealed class ConnectionWiringTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Interval = HalfCloseContext.ResetCheckInterval;

    private readonly FakeTimeProvider _time = new();
    private readonly FakeLogger _log = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeConnection _connection = new();
    private TcpState _socketState = TcpState.CloseWait;

    public void Dispose() => _services.Dispose();

    private IMeterFactory Meters => _services.GetRequiredService<IMeterFactory>();

    private HalfCloseConnection Start(ClientFinMode clientFin = ClientFinMode.Serve, PipelinedRequestsMode pipelined = PipelinedRequestsMode.Serve)
    {
        var source = new HalfClosePolicySource(
            null, o => (o.ClientFin, o.PipelinedRequests, o.HalfOpenTimeout, o.Linger) = (clientFin, pipelined, Timeout, LingerMode.Off), _log);
        var context = new HalfCloseContext(source, _log, new HalfCloseMetrics(Meters), _time, tracksRequests: false) { SocketState = _ => _socketState };
        var connection = new HalfCloseConnection(_connection, socket: null, context);
        connection.Start();
        return connection;
    }

    private async Task ClientFinAsync()
    {
        await _connection.ClientInput.Writer.CompleteAsync();
        _connection.CloseTransport();
    }

    private static Task FiredAsync(CancellationToken token)
    {
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.UnsafeRegister(static state => ((TaskCompletionSource)state!).TrySetResult(), fired);
        return fired.Task.WaitAsync(Bound, CancellationToken.None);
    }

    private bool Logged(string name) => _log.Collector.GetSnapshot().Any(log => log.Id.Name == name);

    [Fact]
    public async Task ClientFin_Serve_HalfOpenUntilTheDeadline_ThenAbortedWithRst()
    {
        var connection = Start();
        var kestrelToken = _connection.ConnectionClosed;

        await ClientFinAsync();
        await FiredAsync(connection.ClientHalfClosed);
        _time.Advance(Timeout - TimeSpan.FromMilliseconds(1));

        Assert.False(kestrelToken.IsCancellationRequested);
        Assert.Equal(0, _connection.Aborts);

        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.True(kestrelToken.IsCancellationRequested);
        Assert.Equal(1, _connection.Aborts);
        Assert.True(Logged("HalfOpenTimedOut"));
    }

    [Fact]
    public async Task ClientFin_ThenSocketShowsReset_KestrelToldAtTheNextLook_NoRst()
    {
        var connection = Start();
        var kestrelToken = _connection.ConnectionClosed;
        await ClientFinAsync();
        await FiredAsync(connection.ClientHalfClosed);

        _time.Advance(Interval);
        Assert.False(kestrelToken.IsCancellationRequested);
        _socketState = TcpState.Close;
        _time.Advance(Interval);

        Assert.True(kestrelToken.IsCancellationRequested);
        Assert.Equal(0, _connection.Aborts);
        Assert.True(Logged("ResetWhileHalfOpen"));
    }

    [Fact]
    public async Task SocketStateUnreadable_NotTakenForAReset()
    {
        var connection = Start();
        var kestrelToken = _connection.ConnectionClosed;
        _socketState = TcpState.Unknown;
        await ClientFinAsync();
        await FiredAsync(connection.ClientHalfClosed);

        _time.Advance(Timeout - TimeSpan.FromMilliseconds(1));

        Assert.False(kestrelToken.IsCancellationRequested);
    }

    [Fact]
    public async Task InputCompletedWithReset_KestrelTold_NotAHalfClose()
    {
        var connection = Start();
        var kestrelToken = _connection.ConnectionClosed;

        await _connection.ClientInput.Writer.CompleteAsync(new ConnectionResetException("reset by peer"));
        _connection.CloseTransport();

        await FiredAsync(kestrelToken);
        Assert.False(connection.IsClientHalfClosed);
        Assert.Equal(0, _connection.Aborts);
    }

    [Fact]
    public async Task ClientFin_Abort_KestrelTold()
    {
        var connection = Start(ClientFinMode.Abort);
        var kestrelToken = _connection.ConnectionClosed;

        await ClientFinAsync();

        await FiredAsync(kestrelToken);
        Assert.False(connection.IsClientHalfClosed);
        Assert.True(Logged("AbortedOnFin"));
    }

    [Fact]
    public async Task TransportClosedBeforeTheInputShowsIt_ProbedEachInterval_SettledWhenItDoes()
    {
        var connection = Start();
        var kestrelToken = _connection.ConnectionClosed;

        _connection.CloseTransport();
        _time.Advance(Interval);
        Assert.False(connection.IsClientHalfClosed);
        Assert.False(kestrelToken.IsCancellationRequested);

        await _connection.ClientInput.Writer.CompleteAsync();
        _time.Advance(Interval);

        await FiredAsync(connection.ClientHalfClosed);
        Assert.False(kestrelToken.IsCancellationRequested);
    }

    [Fact]
    public void TransportClosedAndTheInputNeverShowsHow_AbortedAtTheDeadline()
    {
        Start();
        var kestrelToken = _connection.ConnectionClosed;

        _connection.CloseTransport();
        _time.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(kestrelToken.IsCancellationRequested);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.True(kestrelToken.IsCancellationRequested);
        Assert.Equal(1, _connection.Aborts);
    }

    [Fact]
    public async Task ServedAfterFin_Completed_CountedOnceWithItsDuration()
    {
        using var fins = new MetricCollector<long>(Meters, HalfCloseMetrics.MeterName, "halfclose.client_fins");
        using var halfOpen = new MetricCollector<long>(Meters, HalfCloseMetrics.MeterName, "halfclose.active_half_open_connections");
        using var duration = new MetricCollector<double>(Meters, HalfCloseMetrics.MeterName, "halfclose.half_open.duration");
        var connection = Start();
        await ClientFinAsync();
        await FiredAsync(connection.ClientHalfClosed);

        _time.Advance(TimeSpan.FromMilliseconds(700));
        connection.Complete();

        Assert.Equal("served", Assert.Single(fins.GetMeasurementSnapshot()).Tags["halfclose.outcome"]);
        Assert.Equal([1L, -1L], halfOpen.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Equal(0.7, Assert.Single(duration.GetMeasurementSnapshot()).Value, precision: 3);
        Assert.True(Logged("ServedAfterFin"));
    }

    [Fact]
    public async Task ClientFin_DiscardPipelined_KestrelAskedToCloseBeforeAnyoneLearnsOfTheFin()
    {
        // A handler answering on the FIN (its token, or IsClientHalfClosed) must find keep-alive already off in Kestrel.
        var closeAsked = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        HalfCloseConnection? connection = null;
        _connection.Features.Set<IConnectionLifetimeNotificationFeature>(new CloseNotifier(() => closeAsked.TrySetResult(connection!.IsClientHalfClosed)));
        connection = Start(pipelined: PipelinedRequestsMode.Discard);
        await _connection.ClientInput.Writer.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var read = await _connection.Transport.Input.ReadAsync().AsTask().WaitAsync(Bound);
        _connection.Transport.Input.AdvanceTo(read.Buffer.End);

        await ClientFinAsync();
        await FiredAsync(connection.ClientHalfClosed);

        Assert.False(await closeAsked.Task.WaitAsync(Bound), "the FIN was visible before Kestrel was asked to close");
    }

    [Fact]
    public async Task HalfOpenCounted_ARequestEndingThen_AnsweredAfterTheFin()
    {
        // A listener may act on the count at once, on the thread that made it (a test releasing its held handler does).
        using var requests = new MetricCollector<long>(Meters, HalfCloseMetrics.MeterName, "halfclose.requests_after_fin");
        HalfCloseConnection? connection = null;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == Meters && instrument.Name == "halfclose.active_half_open_connections")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            if (value > 0)
            {
                connection!.RequestEnded(new DefaultHttpContext());
            }
        });
        listener.Start();
        connection = Start();

        await ClientFinAsync();
        await FiredAsync(connection.ClientHalfClosed);

        Assert.Equal(1, Assert.Single(requests.GetMeasurementSnapshot()).Value);
    }

    private sealed class CloseNotifier(Action requestClose) : IConnectionLifetimeNotificationFeature
    {
        public CancellationToken ConnectionClosedRequested { get; set; }

        public void RequestClose() => requestClose();
    }

    [Fact]
    public async Task ListenerAttachedWhileHalfOpen_HalfOpenCounterNeverGoesNegative()
    {
        var connection = Start();
        await ClientFinAsync();
        await FiredAsync(connection.ClientHalfClosed);

        // The connection went half-open before the listener came: its -1 would be one without a +1.
        using var halfOpen = new MetricCollector<long>(Meters, HalfCloseMetrics.MeterName, "halfclose.active_half_open_connections");
        connection.Complete();

        Assert.Empty(halfOpen.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task ListenerAttachedAfterStartBeforeTheFin_SeesTheHalfOpenCountRiseAndFall()
    {
        // The instruments are asked at the connection's first event that records: its FIN, after the listener came.
        var connection = Start();
        using var halfOpen = new MetricCollector<long>(Meters, HalfCloseMetrics.MeterName, "halfclose.active_half_open_connections");

        await ClientFinAsync();
        await FiredAsync(connection.ClientHalfClosed);
        connection.Complete();

        Assert.Equal([1, -1], halfOpen.GetMeasurementSnapshot().Select(m => m.Value));
    }

    [Fact]
    public void RequestOnTheThreadThatTookItsHead_ItsConnectionIsTheOneWhoseHeadItWas_NeverAnother()
    {
        var connection = Start();
        var other = new HalfCloseConnection(new FakeConnection(), socket: null, connection.Context);
        other.Start();

        // As Kestrel's: a request's features fall back to its connection's, and stay the same for its every request.
        var requests = new FeatureCollection(_connection.Features);
        Assert.Same(connection, HalfCloseConnection.OfRequest(requests));

        // The other connection took a head on this thread last: it is not this request's.
        ((IInputEndListener)other).OnHeadTaken();
        Assert.Same(connection, HalfCloseConnection.OfRequest(requests));

        // This connection took it: the answer needs no lookup (shown here with the lookup made to find nothing).
        _connection.Features.Set<IHalfCloseFeature>(null);
        Assert.Null(HalfCloseConnection.OfRequest(requests));
        ((IInputEndListener)connection).OnHeadTaken();
        Assert.Same(connection, HalfCloseConnection.OfRequest(requests));

        // Taken once: the next request on this thread looks it up.
        Assert.Null(HalfCloseConnection.OfRequest(requests));
    }

    [Fact]
    public void FirstRequestOnTheThreadThatTookItsHead_ItsConnectionByItsOwnIdString_NeverByAnEqualOne()
    {
        _connection.ConnectionId = string.Concat("conn-", "1");
        var connection = Start();
        var other = new HalfCloseConnection(new FakeConnection { ConnectionId = string.Concat("conn-", "2") }, socket: null, connection.Context);
        other.Start();

        // As Kestrel's: the request's features carry its connection's id (the very string), and fall back to the
        // connection's; the lookup is made to find nothing, so that only the head's hint can answer.
        var requests = new FeatureCollection(_connection.Features);
        var ids = new HttpConnectionFeature { ConnectionId = string.Concat("conn-", "1") };
        requests.Set<IHttpConnectionFeature>(ids);
        _connection.Features.Set<IHalfCloseFeature>(null);

        // Another connection's head: not this request's.
        ((IInputEndListener)other).OnHeadTaken();
        Assert.Null(HalfCloseConnection.OfRequest(requests));

        // This connection's head, but the request's id is a string equal to the connection's, not the connection's own.
        Assert.Equal(_connection.ConnectionId, ids.ConnectionId);
        ((IInputEndListener)connection).OnHeadTaken();
        Assert.Null(HalfCloseConnection.OfRequest(requests));

        // Its own id: the connection's, and from then on its requests' features say so.
        ids.ConnectionId = _connection.ConnectionId;
        ((IInputEndListener)connection).OnHeadTaken();
        Assert.Same(connection, HalfCloseConnection.OfRequest(requests));
        ids.ConnectionId = "changed by the application";
        ((IInputEndListener)connection).OnHeadTaken();
        Assert.Same(connection, HalfCloseConnection.OfRequest(requests));
    }

    [Fact]
    public void WhileKestrelReads_TheTransportsCloseIsListenedTo()
    {
        var connection = Start();

        // Still there: taking it off succeeds.
        Assert.True(connection.TransportRegistration.Unregister());
    }

    [Fact]
    public void KestrelsReaderCompletes_TheTransportsCloseIsNoLongerListenedTo()
    {
        var connection = Start();

        ((IDuplexPipe)connection).Input.Complete();

        // Taken off as the reader completed: the transport's close, later, runs none of the connection's code.
        Assert.False(connection.TransportRegistration.Unregister());
    }

    [Fact]
    public void TheCloseTakesTheInputOver_TheTransportsCloseIsNoLongerListenedTo()
    {
        var connection = Start();

        ((HalfCloseInput)((IDuplexPipe)connection).Input).HandOverToClose();

        Assert.False(connection.TransportRegistration.Unregister());
    }

    [Fact]
    public void HeadTakenButNoRequestTookIt_TheConnectionEnds_TheThreadLetsGoOfIt()
    {
        var connection = Start();
        var requests = new FeatureCollection(_connection.Features);
        Assert.Same(connection, HalfCloseConnection.OfRequest(requests));

        // A head no request took (Kestrel answered it itself), then the connection's end on this thread.
        ((IInputEndListener)connection).OnHeadTaken();
        connection.Complete();

        // With the lookup made to find nothing, only a hint still held could answer.
        _connection.Features.Set<IHalfCloseFeature>(null);
        Assert.Null(HalfCloseConnection.OfRequest(requests));
    }
}
