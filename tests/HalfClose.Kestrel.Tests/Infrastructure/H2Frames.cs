using System.Text;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>The few HTTP/2 frames a raw h2c client needs to open one GET stream.</summary>
public static class H2Frames
{
    private const byte Headers = 0x1;
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
