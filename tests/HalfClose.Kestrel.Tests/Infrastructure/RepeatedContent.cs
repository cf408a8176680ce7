using System.Net;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>A request body of <paramref name="totalLength"/> bytes, written in 64 KiB chunks without holding it all in memory.</summary>
public sealed class RepeatedContent(long totalLength) : HttpContent
{
    private static readonly byte[] Chunk = new byte[64 * 1024];

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        for (var left = totalLength; left > 0; left -= Chunk.Length)
        {
            await stream.WriteAsync(Chunk.AsMemory(0, (int)Math.Min(Chunk.Length, left)));
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = totalLength;
        return true;
    }
}
