using System.IO.Pipelines;

namespace HalfClose.Kestrel.Internal;

/// <summary>The connection's transport with <see cref="HalfCloseInput"/> as its input; the output is the transport's own.</summary>
internal sealed class HalfCloseTransport(IDuplexPipe inner) : IDuplexPipe
{
    public IDuplexPipe Inner { get; } = inner;

    public PipeReader Input { get; } = new HalfCloseInput(inner.Input);

    public PipeWriter Output => Inner.Output;
}
