namespace HalfClose.Kestrel.Internal;

/// <summary>Told when the connection's input first shows its clean end (the client's FIN), before the reader sees it.</summary>
internal interface IInputEndListener
{
    void OnInputEnded();
}
