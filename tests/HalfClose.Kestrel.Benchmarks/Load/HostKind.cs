namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>The servers of the load run. Each runs in a process of its own so that its memory can be read alone.</summary>
internal enum HostKind
{
    /// <summary>Plain Kestrel: the trivial GET / handler, no policy. Also the origin behind the proxies.</summary>
    Kestrel,

    /// <summary>The same with <c>builder.WebHost.UseHalfClosePolicy()</c>.</summary>
    KestrelPolicy,

    /// <summary>
    /// A second plain Kestrel, the same as <see cref="Kestrel"/> in a process of its own: against it, the A/A pair
    /// whose ratio shows the noise floor of the run.
    /// </summary>
    KestrelTwin,

    /// <summary>
    /// Plain Kestrel with the floor's connection middleware (<see cref="FloorMiddleware"/>), in the twin's place with
    /// <c>--twin=floor</c>: against plain Kestrel, what the least a FIN-watching connection middleware does costs.
    /// </summary>
    KestrelFloor,

    /// <summary>YARP on Kestrel in front of the origin, no policy.</summary>
    Yarp,

    /// <summary>The same with <c>builder.WebHost.UseHalfClosePolicy()</c>.</summary>
    YarpPolicy,

    /// <summary>HAProxy in front of the origin (optional; when the haproxy binary is there).</summary>
    HaProxy,
}
