namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>
/// Tests that run the SDK (pack, Native AOT publish): they rebuild and read the library's build output, and a Native AOT
/// compile takes both cores, so they run alone, after the socket suites, never beside them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SdkRuns
{
    public const string Name = "Builds";
}
