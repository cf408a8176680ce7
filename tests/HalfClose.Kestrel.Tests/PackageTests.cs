using System.IO.Compression;
using System.Xml.Linq;
using HalfClose.Kestrel.Tests.Infrastructure;

namespace HalfClose.Kestrel.Tests;

/// <summary>The NuGet package as users get it: packed from the library this test run built.</summary>
[Collection(SdkRuns.Name)]
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
        using var package = await PackedPackage.PackAsync("HalfClose.Kestrel");

        Assert.Contains("README.md", package.Entries);
        Assert.Contains("lib/net10.0/HalfClose.Kestrel.dll", package.Entries);
        Assert.Contains("lib/net10.0/HalfClose.Kestrel.xml", package.Entries);
        Assert.DoesNotContain(package.Entries, e => e.Contains("Tests", StringComparison.OrdinalIgnoreCase) || e.Contains("Sample", StringComparison.OrdinalIgnoreCase));

        var nuspec = package.Nuspec;
        string? Meta(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
        Assert.Equal("HalfClose.Kestrel", Meta("id"));
        Assert.False(string.IsNullOrWhiteSpace(Meta("version")));
        Assert.False(string.IsNullOrWhiteSpace(Meta("description")));
        Assert.Contains("kestrel", Meta("tags"), StringComparison.Ordinal);
        Assert.Equal("MIT", Meta("license"));
        Assert.Equal("README.md", Meta("readme"));
        Assert.Contains(nuspec.Descendants(), e => e.Name.LocalName == "frameworkReference" && (string?)e.Attribute("name") == "Microsoft.AspNetCore.App");

        var docs = package.Load("lib/net10.0/HalfClose.Kestrel.xml");
        Assert.Contains(docs.Descendants("member"), m => (string?)m.Attribute("name") == "T:HalfClose.Kestrel.IHalfCloseFeature");
        AssertPackageReadme(package.Text("README.md"), "HalfClose.Kestrel");
    }

    [Theory]
    [InlineData("HalfClose.Kestrel")]
    [InlineData("HalfClose.Kestrel.Yarp")]
    public async Task Pack_DeterministicPaths_RepositoryOnlyWhenGitHasOne(string project)
    {
        using var package = await PackedPackage.PackAsync(project);

        // Every source path in the symbols is the deterministic /_/..., never this machine's.
        var documents = package.SymbolDocuments($"lib/net10.0/{project}.pdb");
        Assert.NotEmpty(documents);
        Assert.All(documents, path => Assert.StartsWith("/_/", path, StringComparison.Ordinal));

        // The repository's URL and the project page come from git's origin remote when it is a web URL; otherwise none.
        var repository = package.Nuspec.Descendants().Single(e => e.Name.LocalName == "repository");
        var projectUrl = package.Nuspec.Descendants().SingleOrDefault(e => e.Name.LocalName == "projectUrl")?.Value;
        var (exitCode, origin) = await Sdk.RunAsync("git", ["-C", Sdk.RepositoryRoot(), "remote", "get-url", "origin"], TimeSpan.FromSeconds(30));
        if (exitCode == 0 && origin.Trim().StartsWith("https://", StringComparison.Ordinal))
        {
            Assert.Equal(origin.Trim(), (string?)repository.Attribute("url"));
            Assert.StartsWith(origin.Trim().Replace(".git", "", StringComparison.Ordinal), projectUrl, StringComparison.Ordinal);
        }
        else
        {
            Assert.Null(repository.Attribute("url"));
            Assert.Null(projectUrl);
        }

        Assert.Matches("^[0-9a-f]{40}$", (string?)repository.Attribute("commit"));
    }

    /// <summary>A package's own readme: what it is and how to install it, links absolute or none, nothing about this repository's CI or layout.</summary>
    private static void AssertPackageReadme(string readme, string id)
    {
        Assert.StartsWith($"# {id}", readme, StringComparison.Ordinal);
        Assert.Contains($"dotnet add package {id}", readme, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"\]\((?!https://)", readme);
        Assert.DoesNotContain(".ci/", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("## Layout", readme, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PackYarp_DependsOnTheCoreAndYarp_WithDocsAndReadme()
    {
        using var package = await PackedPackage.PackAsync("HalfClose.Kestrel.Yarp");

        Assert.Contains("README.md", package.Entries);
        Assert.Contains("lib/net10.0/HalfClose.Kestrel.Yarp.dll", package.Entries);
        Assert.Contains("lib/net10.0/HalfClose.Kestrel.Yarp.xml", package.Entries);
        Assert.DoesNotContain("lib/net10.0/HalfClose.Kestrel.dll", package.Entries);
        Assert.Equal("HalfClose.Kestrel.Yarp", package.Nuspec.Descendants().First(e => e.Name.LocalName == "id").Value);
        var dependencies = package.Nuspec.Descendants().Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => (string)e.Attribute("id")!, e => (string?)e.Attribute("version"));
        Assert.Contains("HalfClose.Kestrel", dependencies.Keys);

        // Bounded to YARP's major: a YARP 3 may change the forwarder's extension points the package builds on.
        Assert.Equal("[2.3.0, 3.0.0)", dependencies["Yarp.ReverseProxy"]);
        AssertPackageReadme(package.Text("README.md"), "HalfClose.Kestrel.Yarp");
    }

    /// <summary>A project of src/ packed (no build: the one this test run built) into a temporary folder, opened.</summary>
    private sealed class PackedPackage : IDisposable
    {
        private readonly DirectoryInfo _output;
        private readonly ZipArchive _zip;

        private PackedPackage(DirectoryInfo output, ZipArchive zip)
        {
            _output = output;
            _zip = zip;
            Entries = [.. zip.Entries.Select(e => e.FullName)];
            Nuspec = Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).FullName);
        }

        public string[] Entries { get; }

        public XDocument Nuspec { get; }

        public static async Task<PackedPackage> PackAsync(string project)
        {
            var output = Directory.CreateTempSubdirectory("halfclose-pack-");
            try
            {
                var (exitCode, log) = await Sdk.RunAsync("dotnet", ["pack", Path.Combine(Sdk.RepositoryRoot(), "src", project, project + ".csproj"),
                    "--no-build", "-c", Configuration, "-o", output.FullName], TimeSpan.FromMinutes(3));
                Assert.True(exitCode == 0, log);
                var file = Assert.Single(output.GetFiles(project + ".*.nupkg"), f => !f.Name.EndsWith(".snupkg", StringComparison.Ordinal));
                return new PackedPackage(output, ZipFile.OpenRead(file.FullName));
            }
            catch
            {
                output.Delete(recursive: true);
                throw;
            }
        }

        public string Text(string entry)
        {
            using var reader = new StreamReader(_zip.GetEntry(entry)!.Open());
            return reader.ReadToEnd();
        }

        /// <summary>The source paths a portable PDB of the symbols package names.</summary>
        public string[] SymbolDocuments(string entry)
        {
            var file = Assert.Single(_output.GetFiles("*.snupkg"));
            using var symbols = ZipFile.OpenRead(file.FullName);
            using var pdb = new MemoryStream();
            using (var stream = symbols.GetEntry(entry)!.Open())
            {
                stream.CopyTo(pdb);
            }

            pdb.Position = 0;
            using var provider = System.Reflection.Metadata.MetadataReaderProvider.FromPortablePdbStream(pdb);
            var reader = provider.GetMetadataReader();
            return [.. reader.Documents.Select(handle => reader.GetString(reader.GetDocument(handle).Name))];
        }

        public XDocument Load(string entry)
        {
            using var stream = _zip.GetEntry(entry)!.Open();
            return XDocument.Load(stream);
        }

        public void Dispose()
        {
            _zip.Dispose();
            _output.Delete(recursive: true);
        }
    }
}
