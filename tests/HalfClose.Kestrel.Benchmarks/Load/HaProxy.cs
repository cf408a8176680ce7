using System.Diagnostics;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>HAProxy (Debian's package) in front of the origin, on 127.0.0.1; optional.</summary>
internal static class HaProxy
{
    /// <summary>Whether the <c>haproxy</c> binary is on the PATH.</summary>
    public static bool IsInstalled() => Which("haproxy") is not null;

    /// <summary><c>apt-get update</c> then <c>apt-get install -y haproxy</c>; true when it is installed afterwards.</summary>
    public static async Task<bool> InstallAsync()
    {
        Console.WriteLine("Installing haproxy with apt-get ...");
        foreach (var args in new[] { "update -q", "install -y -q haproxy" })
        {
            var info = new ProcessStartInfo("apt-get", args) { UseShellExecute = false };
            info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            using var apt = Process.Start(info);
            if (apt is null)
            {
                return false;
            }

            await apt.WaitForExitAsync();
        }

        return IsInstalled();
    }

    /// <summary>Starts HAProxy in the foreground, forwarding 127.0.0.1:free port to the origin with keep-alive to it.</summary>
    public static async Task<HostProcess> StartAsync(int originPort)
    {
        var port = HostProcess.FreePort();
        var config = Path.Combine(Path.GetTempPath(), $"halfclose-bench-haproxy-{Environment.ProcessId}.cfg");
        await File.WriteAllTextAsync(config, Config(port, originPort) + "\n");
        var info = new ProcessStartInfo("haproxy") { UseShellExecute = false, RedirectStandardOutput = false };
        foreach (var arg in new[] { "-db", "-f", config })
        {
            info.ArgumentList.Add(arg);
        }

        try
        {
            var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start haproxy.");
            return await HostProcess.AdoptAsync(HostKind.HaProxy, process, port);
        }
        finally
        {
            // HAProxy has read it once it listens (or has failed).
            File.Delete(config);
        }
    }

    // Defaults kept: HTTP keep-alive on both sides, no "option abortonclose" (so a client FIN is served).
    private static string Config(int port, int originPort) => $"""
        global
            maxconn 4096
        defaults
            mode http
            timeout connect 5s
            timeout client 30s
            timeout server 30s
            timeout client-fin 30s
        frontend bench
            bind 127.0.0.1:{port}
            default_backend origin
        backend origin
            http-reuse always
            server origin 127.0.0.1:{originPort}
        """;

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
