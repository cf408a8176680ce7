using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using HalfClose.Kestrel.Internal;

namespace HalfClose.Kestrel.Benchmarks.Micro;

/// <summary>
/// (b) A read that sees the end: the request's bytes, then the writer's completion (the client's FIN), read until
/// <see cref="ReadResult.IsCompleted"/>. The raw reader sees data and the end in one read; <see cref="HalfCloseInput"/>
/// shows the data first and the end on the next read, once every byte has been examined. A completed
/// <see cref="HalfCloseInput"/> cannot be reused, so its variant creates one per connection: its Allocated column
/// is exactly that one object.
/// </summary>
[MemoryDiagnoser]
public class EndOfInputBenchmarks
{
    private const int Connections = 1_000;

    private Pipe _pipe = null!;
    private byte[] _request = [];

    /// <summary>Bytes written before the end.</summary>
    [Params(64, 4096)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pipe = SyncPipe.Create();
        _request = new byte[Bytes];
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Connections)]
    public long Pipe()
    {
        long total = 0;
        for (var i = 0; i < Connections; i++)
        {
            total += DataThenEnd(_pipe.Reader);
        }

        return total;
    }

    [Benchmark(OperationsPerInvoke = Connections)]
    public long HalfCloseInput()
    {
        long total = 0;
        for (var i = 0; i < Connections; i++)
        {
            total += DataThenEnd(new HalfCloseInput(_pipe.Reader));
        }

        return total;
    }

    /// <summary>Writes the request and completes the writer, reads to the end, then resets the pipe for the next connection.</summary>
    private long DataThenEnd(PipeReader reader)
    {
        SyncPipe.Write(_pipe.Writer, _request);
        _pipe.Writer.Complete();

        long total = 0;
        ReadResult result;
        do
        {
            result = SyncPipe.Read(reader);
            total += result.Buffer.Length;
            reader.AdvanceTo(result.Buffer.End);
        }
        while (!result.IsCompleted);

        reader.Complete();
        _pipe.Reset();
        return total;
    }
}
