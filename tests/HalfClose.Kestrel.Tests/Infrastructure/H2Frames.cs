using System.Text;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>The few HTTP/2 frames a raw h2c client needs to open one GET stream, or one extended CONNECT (RFC 8441) stream.</summary>
public static class H2Frames
{
    public const byte Data = 0x0;
    public const byte Headers = 0x1;
    public const byte ResetStream = 0x3;
    public const byte GoAway = 0x7;
    private const byte Settings = 0x4;
    private const byte EndStream = 0x1;
    private const byte EndHeaders = 0x4;

    /// <summary>Connection preface, an empty SETTINGS frame, and HEADERS for <c>GET path</c> on stream 1 (END_STREAM).</summary>
    public static byte[] PrefaceSettingsAndGet(string path, bool https = false)
    {
        using var bytes = new MemoryStream();
        bytes.Write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8);
        WriteFrame(bytes, Settings, 0, 0, []);

        using var block = new MemoryStream();
        block.WriteByte(0x82); // :method GET (static table 2)
        block.WriteByte(https ? (byte)0x87 : (byte)0x86); // :scheme https or http (static table 7 or 6)
        WriteLiteral(block, 4, path); // :path, literal without indexing, indexed name 4
        WriteLiteral(block, 1, "test"); // :authority, indexed name 1
        WriteFrame(bytes, Headers, EndStream | EndHeaders, 1, block.ToArray());
        return bytes.ToArray();
    }

    /// <summary>
    /// Connection preface, an empty SETTINGS frame, and HEADERS for an extended CONNECT of <paramref name="protocol"/> to
    /// <paramref name="path"/> on stream 1; the stream stays open for <see cref="DataFrame"/>.
    /// </summary>
    public static byte[] PrefaceSettingsAndConnect(string path, string protocol)
    {
        using var bytes = new MemoryStream();
        bytes.Write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8);
        WriteFrame(bytes, Settings, 0, 0, []);

        using var block = new MemoryStream();
        WriteLiteral(block, 2, "CONNECT"); // :method, indexed name 2
        block.WriteByte(0x86); // :scheme http (static table 6)
        WriteLiteral(block, 4, path); // :path
        WriteLiteral(block, 1, "test"); // :authority
        WriteLiteral(block, ":protocol", protocol);
        WriteLiteral(block, "sec-websocket-version", "13");
        WriteFrame(bytes, Headers, EndHeaders, 1, block.ToArray());
        return bytes.ToArray();
    }

    /// <summary>A DATA frame on stream 1, with END_STREAM when <paramref name="endStream"/>.</summary>
    public static byte[] DataFrame(string text, bool endStream)
    {
        using var bytes = new MemoryStream();
        WriteFrame(bytes, Data, endStream ? EndStream : 0, 1, Encoding.Latin1.GetBytes(text));
        return bytes.ToArray();
    }

    /// <summary>Reads one frame: its type, flags, stream and payload; null when the connection ends.</summary>
    public static async Task<(byte Type, byte Flags, int Stream, byte[] Payload)?> ReadFrameAsync(System.Net.Sockets.Socket socket, CancellationToken cancellationToken)
    {
        var head = new byte[9];
        if (!await ReadExactlyAsync(socket, head, cancellationToken))
        {
            return null;
        }

        var payload = new byte[(head[0] << 16) | (head[1] << 8) | head[2]];
        if (!await ReadExactlyAsync(socket, payload, cancellationToken))
        {
            return null;
        }

        return (head[3], head[4], ((head[5] & 0x7F) << 24) | (head[6] << 16) | (head[7] << 8) | head[8], payload);
    }

    /// <summary>Whether a frame's flags carry END_STREAM (DATA and HEADERS).</summary>
    public static bool EndsStream(byte flags) => (flags & EndStream) != 0;

    private static async Task<bool> ReadExactlyAsync(System.Net.Sockets.Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < buffer.Length;)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(offset), System.Net.Sockets.SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                return false;
            }

            offset += read;
        }

        return true;
    }

    /// <summary>A literal header field without indexing, with a new name.</summary>
    private static void WriteLiteral(MemoryStream block, string name, string value)
    {
        block.WriteByte(0x00);
        WriteString(block, name);
        WriteString(block, value);
    }

    private static void WriteString(MemoryStream block, string value)
    {
        var text = Encoding.ASCII.GetBytes(value);
        if (text.Length > 126)
        {
            throw new ArgumentException("Too long for the one-byte length this encoder writes.", nameof(value));
        }

        block.WriteByte((byte)text.Length);
        block.Write(text);
    }

    private static void WriteLiteral(MemoryStream block, byte nameIndex, string value)
    {
        var text = Encoding.ASCII.GetBytes(value);
        if (text.Length > 126)
        {
            throw new ArgumentException("Too long for the one-byte length this encoder writes.", nameof(value));
        }

        block.WriteByte(nameIndex);
        block.WriteByte((byte)text.Length);
        block.Write(text);
    }

    private static void WriteFrame(MemoryStream output, byte type, int flags, int streamId, byte[] payload)
    {
        output.WriteByte((byte)(payload.Length >> 16));
        output.WriteByte((byte)(payload.Length >> 8));
        output.WriteByte((byte)payload.Length);
        output.WriteByte(type);
        output.WriteByte((byte)flags);
        output.WriteByte((byte)(streamId >> 24));
        output.WriteByte((byte)(streamId >> 16));
        output.WriteByte((byte)(streamId >> 8));
        output.WriteByte((byte)streamId);
        output.Write(payload);
    }
}
