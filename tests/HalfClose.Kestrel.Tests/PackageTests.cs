using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace HalfClose.Kestrel.Tests;

/// <summary>The NuGet package as users get it: packed from the library this test run built.</summary>
public sealed class PackageTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    [Fact]
    public async Task Pack_ContainsLibraryXmlDocsAndReadme_NoTestAssemblies()
    {
        var root = RepositoryRoot();
        var output = Directory.CreateTempSubdirectory("halfclose-pack-");
        try
        {
            var (exitCode, log) = await RunAsync("dotnet", ["pack", Path.Combine(root, "src", "HalfClose.Kestrel", "HalfClose.Kestrel.csproj"),
                "--no-build", "-c", Configuration, "-o", output.FullName]);
            Assert.True(exitCode == 0, log);

            var package = Assert.Single(output.GetFiles("HalfClose.Kestrel.*.nupkg"), f => !f.Name.EndsWith(".snupkg", StringComparison.Ordinal));
            using var zip = ZipFile.OpenRead(package.FullName);
            var entries = zip.Entries.Select(e => e.FullName).ToArray();

            Assert.Contains("README.md", entries);
            Assert.Contains("lib/net10.0/HalfClose.Kestrel.dll", entries);
            Assert.Contains("lib/net10.0/HalfClose.Kestrel.xml", entries);
            Assert.DoesNotContain(entries, e => e.Contains("Tests", StringComparison.OrdinalIgnoreCase) || e.Contains("Sample", StringComparison.OrdinalIgnoreCase));

            using var nuspecStream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
            var nuspec = XDocument.Load(nuspecStream);
            string? Meta(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
            Assert.Equal("HalfClose.Kestrel", Meta("id"));
            Assert.False(string.IsNullOrWhiteSpace(Meta("version")));
            Assert.False(string.IsNullOrWhiteSpace(Meta("description")));
            Assert.Contains("kestrel", Meta("tags"), StringComparison.Ordinal);
            Assert.Equal("MIT", Meta("license"));
            Assert.Equal("README.md", Meta("readme"));
            Assert.Contains(nuspec.Descendants(), e => e.Name.LocalName == "frameworkReference" && (string?)e.Attribute("name") == "Microsoft.AspNetCore.App");

            using var docsStream = zip.GetEntry("lib/net10.0/HalfClose.Kestrel.xml")!.Open();
            var docs = XDocument.Load(docsStream);
            Assert.Contains(docs.Descendants("member"), m => (string?)m.Attribute("name") == "T:HalfClose.Kestrel.IHalfCloseFeature");
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task PackYarp_DependsOnTheCoreAndYarp_WithDocsAndReadme()
    {
        var root = RepositoryRoot();
        var output = Directory.CreateTempSubdirectory("halfclose-pack-yarp-");
        try
        {
            var (exitCode, log) = await RunAsync("dotnet", ["pack", Path.Combine(root, "src", "HalfClose.Kestrel.Yarp", "HalfClose.Kestrel.Yarp.csproj"),
                "--no-build", "-c", Configuration, "-o", output.FullName]);
            Assert.True(exitCode == 0, log);

            var package = Assert.Single(output.GetFiles("HalfClose.Kestrel.Yarp.*.nupkg"), f => !f.Name.EndsWith(".snupkg", StringComparison.Ordinal));
            using var zip = ZipFile.OpenRead(package.FullName);
            var entries = zip.Entries.Select(e => e.FullName).ToArray();
            Assert.Contains("README.md", entries);
            Assert.Contains("lib/net10.0/HalfClose.Kestrel.Yarp.dll", entries);
            Assert.Contains("lib/net10.0/HalfClose.Kestrel.Yarp.xml", entries);
            Assert.DoesNotContain("lib/net10.0/HalfClose.Kestrel.dll", entries);

            using var nuspecStream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
            var nuspec = XDocument.Load(nuspecStream);
            Assert.Equal("HalfClose.Kestrel.Yarp", nuspec.Descendants().First(e => e.Name.LocalName == "id").Value);
            var dependencies = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string?)e.Attribute("id")).ToArray();
            Assert.Contains("HalfClose.Kestrel", dependencies);
            Assert.Contains("Yarp.ReverseProxy", dependencies);
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "HalfClose.Kestrel.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("HalfClose.Kestrel.sln not found above " + AppContext.BaseDirectory);
    }

    private static async Task<(int ExitCode, string Log)> RunAsync(string fileName, string[] arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
