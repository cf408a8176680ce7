using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using HalfClose.Kestrel.Internal;

namespace HalfClose.Kestrel.Benchmarks.Micro;

/// <summary>
/// (a) The keep-alive steady state: a request's bytes arrive, the reader reads them and advances to the end, again
/// and again. The raw <see cref="Pipe"/> reader against <see cref="HalfCloseInput"/> wrapping the same pipe.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class KeepAliveReadBenchmarks
{
    private const int Reads = 1_000;

    private Pipe _pipe = null!;
    private PipeReader _wrapped = null!;
    private PipeReader _wrappedBetweenRequests = null!;
    private byte[] _request = [];

    /// <summary>Bytes written before each read.</summary>
    [Params(64, 4096)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pipe = SyncPipe.Create();
        _wrapped = new HalfCloseInput(_pipe.Reader);
        _wrappedBetweenRequests = new HalfCloseInput(_pipe.Reader, new BetweenRequests());
        _request = new byte[Bytes];
    }

    /// <summary>Data already buffered when the read is issued: the read completes synchronously.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Reads)]
    [BenchmarkCategory("buffered")]
    public long PipeBuffered() => Buffered(_pipe.Reader);

    [Benchmark(OperationsPerInvoke = Reads)]
    [BenchmarkCategory("buffered")]
    public long HalfCloseInputBuffered() => Buffered(_wrapped);

    /// <summary>The read is issued first and waits; the write completes it (Kestrel's usual case between requests).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Reads)]
    [BenchmarkCategory("pending")]
    public long PipePending() => Pending(_pipe.Reader);

    [Benchmark(OperationsPerInvoke = Reads)]
    [BenchmarkCategory("pending")]
    public long HalfCloseInputPending() => Pending(_wrapped);

    /// <summary>
    /// The same read, waiting for a request's head (between requests, under the request middleware): the reader awaits
    /// the pipe's own read, and the wrapper looks for an end as the reader advances past it.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Reads)]
    [BenchmarkCategory("pending")]
    public long HalfCloseInputPendingHead() => Pending(_wrappedBetweenRequests);

    private long Buffered(PipeReader reader)
    {
        long total = 0;
        for (var i = 0; i < Reads; i++)
        {
            SyncPipe.Write(_pipe.Writer, _request);
            var result = SyncPipe.Read(reader);
            total += result.Buffer.Length;
            reader.AdvanceTo(result.Buffer.End);
        }

        return total;
    }

    private long Pending(PipeReader reader)
    {
        long total = 0;
        for (var i = 0; i < Reads; i++)
        {
            var read = reader.ReadAsync();
            SyncPipe.Write(_pipe.Writer, _request);
            var result = SyncPipe.Wait(read);
            total += result.Buffer.Length;
            reader.AdvanceTo(result.Buffer.End);
        }

        return total;
    }

    /// <summary>A connection between requests: every read waits for a request's head.</summary>
    private sealed class BetweenRequests : IInputEndListener
    {
        public bool WaitsForRequestHead => true;

        public void OnInputEnded(InputEnd end, InputRemainder remainder, bool readerWasWaiting)
        {
        }
    }
}
