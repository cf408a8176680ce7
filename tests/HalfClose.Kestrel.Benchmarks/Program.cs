using BenchmarkDotNet.Running;
using HalfClose.Kestrel.Benchmarks.Load;

// load [options]   : the end-to-end load run (see README.md)
// host KIND ...    : one server of the load run, started by it as a child process
// anything else    : BenchmarkDotNet, e.g. --filter '*' --job short
return args switch
{
    ["load", .. var rest] => await LoadRunner.RunAsync(LoadOptions.Parse(rest)),
    ["host", .. var rest] => await HostProgram.RunAsync(rest),
    _ => Micro(args),
};

static int Micro(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(LoadRunner).Assembly).Run(args);
    return 0;
}
