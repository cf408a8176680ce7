using HalfClose.Kestrel;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Sets the client-FIN policy of endpoints.</summary>
public static class HalfCloseEndpointConventionBuilderExtensions
{
    /// <summary>
    /// When the client's FIN arrives while a request of these endpoints is in flight, <paramref name="clientFin"/> decides
    /// instead of the connection's policy (cleartext and TLS alike). A FIN between requests gets the connection's policy.
    /// Needs <c>builder.WebHost.UseHalfClosePolicy()</c>, which tracks requests.
    /// </summary>
    /// <typeparam name="TBuilder">The convention builder's type.</typeparam>
    /// <param name="builder">The endpoints: <c>app.MapGet(...)</c>, a group, <c>app.MapReverseProxy()</c>.</param>
    /// <param name="clientFin">What a client FIN means while one of their requests is in flight.</param>
    /// <returns>The <paramref name="builder"/>.</returns>
    public static TBuilder WithHalfClosePolicy<TBuilder>(this TBuilder builder, ClientFinMode clientFin)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var metadata = new HalfClosePolicyAttribute(clientFin);
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
