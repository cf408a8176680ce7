using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace HalfClose.Kestrel.Internal;

/// <summary>The send loop: read what Kestrel flushed, send all of it, advance, until the writer completes.</summary>
internal sealed partial class HalfCloseOutput
{
    /// <summary>
    /// Runs the loop until it must wait: for Kestrel's next flush (the read completes it, on the send queue) or for the kernel to
    /// take a send (<see cref="OnCompleted(SocketAsyncEventArgs)"/> completes it).
    /// </summary>
    private void Continue(bool haveResult, bool pendingRead = false)
    {
        var reader = _pipe.Reader;
        try
        {
            while (true)
            {
                if (!haveResult)
                {
                    if (pendingRead)
                    {
                        _result = _read.GetResult();
                        _read = default;
                        pendingRead = false;
                    }
                    else
                    {
                        var read = reader.ReadAsync();
                        if (!read.IsCompleted)
                        {
                            _read = read.ConfigureAwait(false).GetAwaiter();
                            _read.UnsafeOnCompleted(_onRead);
                            return;
                        }

                        _result = read.GetAwaiter().GetResult();
                    }

                    _sent = 0;
                }

                haveResult = false;
                if (!FinSent && _sent < _result.Buffer.Length && SendPending())
                {
                    // OnCompleted goes on from here.
                    return;
                }

                var result = _result;
                _result = default;
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    // Every byte is sent: the owner may close the way the transport would, now, rather than once every
                    // middleware is done (the transport's own send loop shuts the socket down as soon as Kestrel completes).
                    _handedOver = _owner?.TryHandOverClose() == true;
                    End();
                    return;
                }

                if (result.IsCanceled && Volatile.Read(ref _finRequest) is { } request)
                {
                    // Only ShutdownSendAsync cancels this reader: what it asked to be sent has just been.
                    request.TrySetResult(SendFin());
                }
            }
        }
        catch (Exception)
        {
            // A failed send (reset, socket closed under it), or the writer completed with an error (an abort).
            Fail();
        }
    }

    /// <summary>Sends the rest of the buffer, one segment at a time; true when a send is pending.</summary>
    private bool SendPending()
    {
        while (_sent < _result.Buffer.Length)
        {
            var rest = _result.Buffer.Slice(_sent);
            SetBuffer(MemoryMarshal.AsMemory(rest.First));
            if (_socket!.SendAsync(this))
            {
                return true;
            }

            if (SocketError != SocketError.Success)
            {
                throw new SocketException((int)SocketError);
            }

            _sent += BytesTransferred;
        }

        return false;
    }

    private void Fail()
    {
        _failed = true;
        if (_result.Buffer.Length > 0 || _result.IsCompleted || _result.IsCanceled)
        {
            try
            {
                _pipe.Reader.AdvanceTo(_result.Buffer.End);
            }
            catch (InvalidOperationException)
            {
                // Nothing was held.
            }
        }

        _result = default;
        End();
    }

    /// <summary>The loop is over: Kestrel's next flush sees the output completed, as when the transport's send loop ends.</summary>
    private void End()
    {
        SetBuffer(Memory<byte>.Empty);

        // Written with a full fence before the request is read; a request writes itself before reading this.
        Interlocked.Exchange(ref _loopEnded, 1);
        Volatile.Read(ref _finRequest)?.TrySetResult(FinSent);
        _pipe.Reader.Complete();
        _loopEnd.SetResult(true);
    }
}
