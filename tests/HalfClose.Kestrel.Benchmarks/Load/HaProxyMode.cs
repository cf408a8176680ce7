namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>Whether the load run also drives HAProxy (half-closing clients only).</summary>
internal enum HaProxyMode
{
    /// <summary>When the haproxy binary is installed.</summary>
    Auto,

    /// <summary>Never.</summary>
    Off,

    /// <summary>Install it with apt-get when it is missing (needs root), then drive it.</summary>
    Install,
}
