using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using HalfClose.Kestrel.Tests.Infrastructure;
using Xunit.Abstractions;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// The library in a Native AOT application (tests/HalfClose.Kestrel.AotApp): published with no trimming or AOT warning,
/// started with its HalfClose section, answering a client that half-closes with its request; a bad section still fails
/// start naming the key. Publishing needs clang (<c>.ci/run</c> installs it).
/// </summary>
[Collection(SdkRuns.Name)]
public sealed partial class AotTests(ITestOutputHelper output)
{
    private static readonly Lazy<Task<(string Binary, int Warnings, string Log)>> Published = new(PublishAsync);

    [Fact]
    public async Task NativeAotApp_PublishesWithoutWarnings_AnswersAHalfClosedClient()
    {
        var (binary, warnings, log) = await Published.Value;
        output.WriteLine($"published {binary}: {warnings} warnings");
        Assert.True(warnings == 0, log);

        using var app = await AotProcess.StartAsync(binary, "--urls=http://127.0.0.1:0");
        var fast = await RawHttpClient.SendAndHalfCloseAsync(app.Port, HttpText.Get("/"));
        var pipelined = await RawHttpClient.SendAndHalfCloseAsync(app.Port, HttpText.Get("/slow") + HttpText.Get("/"));

        Assert.Equal(Ending.Fin, fast.Ending);
        Assert.Contains("Hello from Native AOT.", fast.Text, StringComparison.Ordinal);
        Assert.Equal(Ending.Fin, pipelined.Ending);
        Assert.Equal([200, 200], pipelined.StatusCodes);
        Assert.Contains("Half-close policy in force", await app.OutputAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NativeAotApp_InvalidHalfCloseValue_FailsStartNamingTheKey()
    {
        var (binary, _, _) = await Published.Value;

        var (exitCode, text) = await Sdk.RunAsync(binary, ["--urls=http://127.0.0.1:0", "--HalfClose:ClientFin=Bogus"], TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("HalfClose:ClientFin", text, StringComparison.Ordinal);
        Assert.Contains("'Bogus'", text, StringComparison.Ordinal);
    }

    private static async Task<(string Binary, int Warnings, string Log)> PublishAsync()
    {
        var root = Sdk.RepositoryRoot();
        var outputDirectory = TestDirectory.Create("halfclose-aot");
        var project = Path.Combine(root, "tests", "HalfClose.Kestrel.AotApp", "HalfClose.Kestrel.AotApp.csproj");
        var (exitCode, log) = await Sdk.RunAsync(
            "dotnet", ["publish", project, "-c", "Release", "-r", "linux-x64", "-o", outputDirectory, "-p:PublishAot=true"], TimeSpan.FromMinutes(15));
        Assert.True(exitCode == 0, "Native AOT publish failed (it needs clang: apt-get install clang zlib1g-dev):\n" + log);
        var warnings = Warning().Matches(log).Select(m => m.Value).Distinct().Count();
        return (Path.Combine(outputDirectory, "HalfClose.Kestrel.AotApp"), warnings, log);
    }

    /// <summary>A build warning line (trimming IL2xxx, AOT IL3xxx, or any other), counted once however often MSBuild repeats it.</summary>
    [GeneratedRegex(@"[^\n]*: warning [A-Z]+[0-9]+:[^\n]*")]
    private static partial Regex Warning();

    /// <summary>The published binary, run as a user runs it.</summary>
    private sealed partial class AotProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly TaskCompletionSource<int> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private AotProcess(Process process) => _process = process;

        public int Port { get; private set; }

        public static async Task<AotProcess> StartAsync(string binary, params string[] arguments)
        {
            var app = new AotProcess(Process.Start(Sdk.StartInfo(binary, arguments))!);
            app._process.OutputDataReceived += (_, line) => app.OnLine(line.Data);
            app._process.ErrorDataReceived += (_, line) => app.OnLine(line.Data);
            app._process.BeginOutputReadLine();
            app._process.BeginErrorReadLine();
            app.Port = await app._listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return app;
        }

        public Task<string> OutputAsync()
        {
            lock (_output)
            {
                return Task.FromResult(_output.ToString());
            }
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }

            _process.Dispose();
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
            }

            if (Listening().Match(line) is { Success: true } match)
            {
                _listening.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        [GeneratedRegex(@"Now listening on: http://127\.0\.0\.1:(\d+)")]
        private static partial Regex Listening();
    }
}
