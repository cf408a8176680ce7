using System.Buffers;
using Microsoft.AspNetCore.Connections;

namespace HalfClose.Kestrel.Internal;

/// <summary>Reading how an input ended: from the error it completed with, and from what it still held.</summary>
internal static class InputEnds
{
    /// <summary>How an error completing the input ended it; null for errors that say nothing about the transport.</summary>
    public static InputEnd? Classify(Exception ex) => ex switch
    {
        ConnectionAbortedException or ObjectDisposedException => InputEnd.ServerClosed,
        OperationCanceledException or InvalidOperationException => null,
        _ => InputEnd.Reset,
    };

    /// <summary>What a reader had not consumed when the input ended: nothing, part of a request head, or whole heads.</summary>
    public static InputRemainder Remainder(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return InputRemainder.None;
        }

        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8) ? InputRemainder.Headers : InputRemainder.Partial;
    }
}
