using System.IO.Pipelines;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The connection's transport as Kestrel sees it under the policy: <see cref="HalfCloseInput"/> as its input, and
/// <see cref="HalfCloseOutput"/> as its output when the policy closes the socket itself.
/// </summary>
internal sealed class HalfCloseTransport(IDuplexPipe inner, HalfCloseInput input, HalfCloseOutput? output) : IDuplexPipe
{
    public PipeReader Input => input;

    public PipeWriter Output { get; } = output?.Writer ?? inner.Output;
}
