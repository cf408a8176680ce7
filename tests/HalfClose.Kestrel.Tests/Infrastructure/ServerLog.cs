using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Testing;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>The server's own log, attached to a failure that the client alone cannot explain.</summary>
public static class ServerLog
{
    public static async Task<T> OnFailureAsync<T>(WebApplication app, Func<Task<T>> step)
    {
        try
        {
            return await step();
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{ex.Message} (server at {string.Join(", ", app.Urls)}); its log:\n{Text(app)}", ex);
        }
    }

    public static string Text(WebApplication app) => Text(app.Services.GetFakeLogCollector());

    public static string Text(FakeLogCollector logs) => string.Join(
        '\n',
        logs.GetSnapshot().Select(log => $"{log.Timestamp:HH:mm:ss.ffff} {log.Level} {log.Category} {log.Id.Name}: {log.Message} {log.Exception?.Message}"));
}
