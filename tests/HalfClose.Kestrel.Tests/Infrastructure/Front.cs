namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>What the test client talks to.</summary>
public enum Front
{
    /// <summary>Kestrel with the policy, serving the handlers itself.</summary>
    Kestrel,

    /// <summary>The sample YARP proxy with the policy, in front of a plain Kestrel origin serving the handlers.</summary>
    Yarp,
}
