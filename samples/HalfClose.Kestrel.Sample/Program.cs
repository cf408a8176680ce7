using HalfClose.Kestrel.Sample;

// A YARP reverse proxy on Kestrel with the half-close policy on every endpoint. With no destination in the
// ReverseProxy section it starts an embedded demo origin in this process and proxies to it.
await using var proxy = await SampleProxy.StartAsync(args);
Console.WriteLine($"Proxy listening on {string.Join(", ", proxy.Urls)}; origin {proxy.OriginAddress}.");
Console.WriteLine($"Try: printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | nc -N {proxy.Host}");
Console.WriteLine($"Counters: {proxy.Urls.FirstOrDefault()}/halfclose/stats");
await proxy.App.WaitForShutdownAsync();
