using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace HalfClose.Kestrel.Benchmarks.Load;

/// <summary>One server of the load run, in a child process of the runner, listening on 127.0.0.1.</summary>
internal sealed class HostProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private bool _silent;

    private HostProcess(HostKind kind, Process process, int port)
    {
        Kind = kind;
        _process = process;
        Port = port;
    }

    public HostKind Kind { get; }

    public string Name => HostKinds.Name(Kind);

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/";

    public int Pid => _process.Id;

    /// <summary>Starts this executable again as <c>host KIND [ORIGIN_URL]</c> and waits for its address.</summary>
    public static async Task<HostProcess> StartDotnetAsync(HostKind kind, string? originUrl, LoadOptions options)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };

        // Started as "dotnet X.dll": pass the assembly first.
        if (Path.GetFileNameWithoutExtension(info.FileName) == "dotnet")
        {
            info.ArgumentList.Add(typeof(HostProcess).Assembly.Location);
        }

        info.ArgumentList.Add("host");
        info.ArgumentList.Add(HostKinds.Name(kind));
        if (originUrl is not null)
        {
            info.ArgumentList.Add(originUrl);
        }

        // Server GC, what an ASP.NET Core app gets from the Web SDK by default (this console project would otherwise use
        // workstation GC); its heaps fixed unless asked for DATAS, and the thread pool fixed unless left to size itself.
        info.Environment["DOTNET_gcServer"] = options.ServerGc ? "1" : "0";
        if (options.ServerGc && !options.AdaptiveGc)
        {
            info.Environment["DOTNET_GCDynamicAdaptationMode"] = "0";
        }

        if (options.PoolThreads is { } threads)
        {
            info.Environment[HostProgram.PoolThreadsVariable] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start the {HostKinds.Name(kind)} host.");
        using var timeout = new CancellationTokenSource(StartTimeout);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith(HostProgram.ReadyPrefix, StringComparison.Ordinal))
                {
                    return new HostProcess(kind, process, new Uri(line[HostProgram.ReadyPrefix.Length..]).Port);
                }
            }

            throw new InvalidOperationException($"The {HostKinds.Name(kind)} host exited before listening.");
        }
        catch
        {
            Kill(process);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Adopts a started process that listens (or is about to) on <paramref name="port"/>.</summary>
    public static async Task<HostProcess> AdoptAsync(HostKind kind, Process process, int port)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(StartTimeout.TotalSeconds * Stopwatch.Frequency);
        while (!process.HasExited && Stopwatch.GetTimestamp() < deadline)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                return new HostProcess(kind, process, port);
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        Kill(process);
        process.Dispose();
        throw new InvalidOperationException($"The {HostKinds.Name(kind)} host did not listen on port {port}.");
    }

    /// <summary>A free port on 127.0.0.1, for a server that cannot report the one it was given.</summary>
    public static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>
    /// The host's <see cref="HostCounters"/>, asked over its standard input; null for a host that is not one of ours
    /// (HAProxy), and from the first time a host does not answer (it exited, or stayed silent for 30 s), said once.
    /// </summary>
    public async Task<HostCounters?> CountersAsync()
    {
        if (!_process.StartInfo.RedirectStandardInput || _silent)
        {
            return null;
        }

        try
        {
            await _process.StandardInput.WriteLineAsync(HostProgram.CountersQuery);
            await _process.StandardInput.FlushAsync();
            using var timeout = new CancellationTokenSource(StartTimeout);
            while (await _process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith(HostProgram.CountersPrefix, StringComparison.Ordinal))
                {
                    return HostCounters.Parse(line.AsSpan(HostProgram.CountersPrefix.Length));
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or FormatException)
        {
            Console.WriteLine($"(the {Name} host, pid {Pid}, did not answer its counters: {ex.Message}; its counts are n/a from here on)");
            _silent = true;
            return null;
        }

        Console.WriteLine($"(the {Name} host, pid {Pid}, exited; its counts are n/a from here on)");
        _silent = true;
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process.StartInfo.RedirectStandardInput)
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The host is gone (a query it never read is still buffered): nothing to tell it.
            }

            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(stopping.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        Kill(_process);
        _process.Dispose();
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(TimeSpan.FromSeconds(5));
            }
        }
        catch (InvalidOperationException)
        {
        }
    }
}
