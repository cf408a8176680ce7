using System.Buffers;
using System.IO.Pipelines;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Shows a completed input's end to its reader only once the reader has examined every byte before it, as a socket would:
/// Kestrel's HTTP/1.x body readers take a completed read for a truncated body even when the rest of it is in the buffer.
/// </summary>
internal struct HiddenEnd
{
    private ReadOnlySequence<byte> _buffer;
    private bool _hiding;
    private bool _examined;

    /// <summary>The result as the reader gets it: not completed while bytes before the end are unexamined.</summary>
    public ReadResult Show(ReadResult result)
    {
        if (!result.IsCompleted || result.Buffer.IsEmpty || _examined)
        {
            return result;
        }

        _hiding = true;
        _buffer = result.Buffer;
        return new ReadResult(result.Buffer, result.IsCanceled, isCompleted: false);
    }

    /// <summary>The reader advanced; called before the inner reader's AdvanceTo, which may return the buffer's segments.</summary>
    public void Advanced(SequencePosition examined)
    {
        if (_hiding)
        {
            _examined = _buffer.Slice(examined).IsEmpty;
            _hiding = false;
            _buffer = default;
        }
    }
}
