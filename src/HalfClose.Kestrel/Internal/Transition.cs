namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The result of one event: what to do, how a client FIN's half-open period ended (if it just did), and when to call
/// <see cref="ConnectionStateMachine.Tick"/> next (null: no wait is pending; the timer stops).
/// </summary>
internal readonly record struct Transition(ConnectionEffects Effects, HalfCloseOutcome? Outcome = null, TimeSpan? Wake = null)
{
    public static Transition Nothing => default;

    public bool Has(ConnectionEffects effect) => (Effects & effect) == effect;
}
