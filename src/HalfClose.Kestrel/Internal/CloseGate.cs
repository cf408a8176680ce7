namespace HalfClose.Kestrel.Internal;

/// <summary>The two halves of asking Kestrel to stop after the request in flight (<c>PipelinedRequests: Discard</c>).</summary>
[Flags]
internal enum CloseGate
{
    None = 0,

    /// <summary>The policy decided it.</summary>
    CloseWanted = 1,

    /// <summary>Kestrel has begun its first request (its first read).</summary>
    ReadBegun = 2,

    /// <summary>Both: asked.</summary>
    Open = CloseWanted | ReadBegun,
}
