using System.Diagnostics;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>Running the SDK (and what it builds) from a test: the repository's root, and a process run to its end, bounded.</summary>
public static class Sdk
{
    /// <summary>The folder holding HalfClose.Kestrel.sln, above the test's binaries.</summary>
    public static string RepositoryRoot()
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

    /// <summary>Runs <paramref name="fileName"/> to its end (killed past <paramref name="timeout"/>): its exit code, stdout then stderr.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout)
    {
        using var process = Process.Start(StartInfo(fileName, arguments))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>How to start <paramref name="fileName"/> with its output read; a program given by its path runs where its appsettings.json is.</summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (Path.IsPathRooted(fileName))
        {
            start.WorkingDirectory = Path.GetDirectoryName(fileName)!;
        }

        return start;
    }
}
