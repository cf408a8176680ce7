namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>The suite's most common client: a request the handler holds for a while, and the FIN once it has started.</summary>
public static class HalfClosing
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <c>GET /slow?ms=…&amp;id=…</c>, FIN (TCP, under TLS too) as soon as the handler runs, then reads to the server's end.
    /// </summary>
    public static async Task<RawResult> SlowGetThenFinAsync(int port, Probe probe, string id, int ms = 300, bool tls = false)
    {
        var request = HttpText.Get($"/slow?ms={ms}&id={id}");
        if (tls)
        {
            await using var tlsClient = await RawTlsClient.ConnectAsync(port);
            await tlsClient.SendAsync(request);
            await probe.Started(id).WaitAsync(Bound);
            tlsClient.HalfClose();
            return await tlsClient.ReadToEndAsync();
        }

        await using var client = await RawHttpClient.ConnectAsync(port);
        await client.SendAsync(request);
        await probe.Started(id).WaitAsync(Bound);
        client.HalfClose();
        return await client.ReadToEndAsync();
    }
}
