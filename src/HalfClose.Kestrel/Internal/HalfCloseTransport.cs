using System.IO.Pipelines;

namespace HalfClose.Kestrel.Internal;

/// <summary>The connection's transport with <see cref="HalfCloseInput"/> as its input; the output is the transport's own.</summary>
internal sealed class HalfCloseTransport(IDuplexPipe inner, HalfCloseInput input) : IDuplexPipe
{
    public PipeReader Input => input;

    public PipeWriter Output => inner.Output;
}
