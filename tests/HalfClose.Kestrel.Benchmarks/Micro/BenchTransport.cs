using System.IO.Pipelines;

namespace HalfClose.Kestrel.Benchmarks.Micro;

/// <summary>A connection's transport over one pipe; shared by every benchmark connection (nothing reads it).</summary>
internal sealed class BenchTransport(Pipe pipe) : IDuplexPipe
{
    public PipeReader Input => pipe.Reader;

    public PipeWriter Output => pipe.Writer;
}
