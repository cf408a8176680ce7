using BenchmarkDotNet.Running;
using HalfClose.Kestrel.Benchmarks.Load;

// load [options]   : the end-to-end load run (see README.md)
// host KIND ...    : one server of the load run, started by it as a child process
// anything else    : BenchmarkDotNet, e.g. --filter '*' --job short
return args switch
{
    ["load", .. var rest] => await LoadAsync(rest),
    ["host", .. var rest] => await HostProgram.RunAsync(rest),
    _ => Micro(args),
};

static int Micro(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(LoadRunner).Assembly).Run(args);
    return 0;
}

static async Task<int> LoadAsync(string[] args)
{
    LoadOptions options;
    try
    {
        options = LoadOptions.Parse(args);
    }
    catch (ArgumentException ex)
    {
        // A bad option: its message (with the usage), no stack trace, and the usual exit code for bad usage.
        await Console.Error.WriteLineAsync(ex.Message);
        return 2;
    }

    return await LoadRunner.RunAsync(options);
}
