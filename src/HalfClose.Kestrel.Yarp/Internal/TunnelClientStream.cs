namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>
/// The client's side of a tunnel (Kestrel's upgraded stream, or an extended CONNECT's): a read that returns 0 for a
/// non-empty buffer is the client's end (its FIN under the half-close policy's <c>Serve</c>, or END_STREAM over HTTP/2),
/// and is passed on to the destination. A zero-byte read (the forwarder's wait for data) says nothing.
/// </summary>
internal sealed class TunnelClientStream(Stream inner, TunnelLink link) : Stream
{
    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Seen(inner.Read(buffer, offset, count), count);

    public override int Read(Span<byte> buffer) => Seen(inner.Read(buffer), buffer.Length);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = inner.ReadAsync(buffer, cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            return new ValueTask<int>(Seen(read.Result, buffer.Length));
        }

        return AwaitRead(read, buffer.Length);
    }

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer, cancellationToken);

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private async ValueTask<int> AwaitRead(ValueTask<int> read, int requested) => Seen(await read.ConfigureAwait(false), requested);

    private int Seen(int read, int requested)
    {
        if (read == 0 && requested > 0)
        {
            link.ClientEnded();
        }

        return read;
    }
}
