using Microsoft.Extensions.Logging;

namespace HalfClose.Kestrel.Internal;

/// <summary>What every connection of one endpoint shares: the policy source, logging and time.</summary>
internal sealed class HalfCloseContext(HalfClosePolicySource source, ILogger logger, TimeProvider time)
{
    /// <summary>How often a half-open connection's socket is checked for a reset from the client.</summary>
    public static readonly TimeSpan ResetCheckInterval = TimeSpan.FromMilliseconds(200);

    public HalfClosePolicySource Source { get; } = source;

    public ILogger Logger { get; } = logger;

    public TimeProvider Time { get; } = time;
}
