namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>Names of the hosts on the command line and in the tables.</summary>
internal static class HostKinds
{
    public static string Name(HostKind kind) => kind switch
    {
        HostKind.Kestrel => "kestrel",
        HostKind.KestrelPolicy => "kestrel+policy",
        HostKind.KestrelTwin => "kestrel'",
        HostKind.KestrelFloor => "kestrel+floor",
        HostKind.Yarp => "yarp",
        HostKind.YarpPolicy => "yarp+policy",
        HostKind.HaProxy => "haproxy",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static HostKind Parse(string name)
    {
        foreach (var kind in Enum.GetValues<HostKind>())
        {
            if (Name(kind) == name)
            {
                return kind;
            }
        }

        throw new ArgumentException($"Unknown host '{name}'.", nameof(name));
    }

    public static bool HasPolicy(HostKind kind) => kind is HostKind.KestrelPolicy or HostKind.YarpPolicy;

    /// <summary>Whether the host is YARP in front of the origin.</summary>
    public static bool IsYarp(HostKind kind) => kind is HostKind.Yarp or HostKind.YarpPolicy;
}
