using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>
/// The load generator: <c>connections</c> workers on 127.0.0.1, each sending requests one after another until the
/// round's time is up or the round's request budget is spent. A hard deadline a few seconds after the round's end
/// cancels whatever is still waiting.
/// </summary>
internal sealed class LoadClient(int connections, TimeSpan duration, int maxRequests)
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);
    private static readonly byte[] KeepAliveRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray();
    private static readonly byte[] CloseRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"u8.ToArray();

    private long _deadline;
    private int _budget;

    /// <summary>Drives the server on <paramref name="port"/> for one round.</summary>
    public async Task<(Tally[] Tallies, TimeSpan Elapsed)> RunAsync(Workload workload, int port)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, port);
        using var hardStop = new CancellationTokenSource(duration + Grace);
        var start = Stopwatch.GetTimestamp();
        _deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        _budget = maxRequests;

        var workers = Enumerable.Range(0, connections).Select(_ => Task.Run(() => workload == Workload.KeepAlive
            ? KeepAliveAsync(endpoint, hardStop.Token)
            : OneShotAsync(endpoint, halfClose: workload == Workload.HalfClose, hardStop.Token)));
        var tallies = await Task.WhenAll(workers);
        return (tallies, Stopwatch.GetElapsedTime(start));
    }

    private bool NextRequest() => Stopwatch.GetTimestamp() < _deadline && Interlocked.Decrement(ref _budget) >= 0;

    private async Task<Tally> KeepAliveAsync(IPEndPoint endpoint, CancellationToken hardStop)
    {
        var tally = new Tally();
        KeepAliveConnection? connection = null;
        try
        {
            while (NextRequest())
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    connection ??= await KeepAliveConnection.ConnectAsync(endpoint, hardStop);
                    var status = await connection.SendAsync(KeepAliveRequest, hardStop);
                    Record(tally, started, ok: status == 200);
                }
                catch (Exception ex) when (ex is SocketException or IOException or InvalidDataException or OperationCanceledException)
                {
                    tally.Failed++;
                    connection?.Dispose();
                    connection = null;
                }
            }
        }
        finally
        {
            connection?.Dispose();
        }

        return tally;
    }

    private async Task<Tally> OneShotAsync(IPEndPoint endpoint, bool halfClose, CancellationToken hardStop)
    {
        var tally = new Tally();
        var buffer = new byte[4096];
        var request = halfClose ? KeepAliveRequest : CloseRequest;
        while (NextRequest())
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                switch (await OneShotRequest.SendAsync(endpoint, request, halfClose, buffer, hardStop))
                {
                    case OneShotOutcome.Ok:
                        Record(tally, started, ok: true);
                        break;
                    case OneShotOutcome.ZeroByte:
                        tally.ZeroByte++;
                        break;
                    default:
                        tally.Failed++;
                        break;
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                tally.Failed++;
            }
        }

        return tally;
    }

    private static void Record(Tally tally, long started, bool ok)
    {
        if (ok)
        {
            tally.Latencies.Add(Stopwatch.GetTimestamp() - started);
        }
        else
        {
            tally.Failed++;
        }
    }
}
