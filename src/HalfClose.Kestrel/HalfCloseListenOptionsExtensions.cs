using HalfClose.Kestrel;
using HalfClose.Kestrel.Internal;
using HalfClose.Kestrel.Internal.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Adds the TCP half-close policy to one Kestrel endpoint.</summary>
public static class HalfCloseListenOptionsExtensions
{
    /// <summary>
    /// Applies the half-close policy to this endpoint, configured from the <c>HalfClose</c> section of the
    /// application's configuration (and from <c>UseHalfClosePolicy(Action)</c> on the web host, if called).
    /// Add it before or after <c>UseHttps()</c>: TLS connections get <see cref="HalfClosePolicyOptions.TlsClientFin"/> either way.
    /// </summary>
    /// <param name="listenOptions">The endpoint.</param>
    /// <returns>The <paramref name="listenOptions"/>.</returns>
    public static ListenOptions UseHalfClosePolicy(this ListenOptions listenOptions) => Use(listenOptions, configure: null);

    /// <summary>Applies the half-close policy to this endpoint, with settings of its own applied after the configuration's.</summary>
    /// <param name="listenOptions">The endpoint.</param>
    /// <param name="configure">Sets this endpoint's policy; applied after the <c>HalfClose</c> configuration section.</param>
    /// <returns>The <paramref name="listenOptions"/>.</returns>
    public static ListenOptions UseHalfClosePolicy(this ListenOptions listenOptions, Action<HalfClosePolicyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return Use(listenOptions, configure);
    }

    private static ListenOptions Use(ListenOptions listenOptions, Action<HalfClosePolicyOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);

        // Runs when Kestrel binds the endpoint: the policy is validated then, and Protocols is final. Kestrel builds the
        // innermost middleware first, so an endpoint's own policy is known before an app-wide one outside it is built.
        listenOptions.Use(next =>
        {
            var shared = HalfCloseServices.GetContext(listenOptions, configure);
            listenOptions.ApplicationServices.GetService<HalfCloseEndpoints>()?.AddWithMiddleware(listenOptions.EndPoint);
            var notTcp = listenOptions.EndPoint is not System.Net.IPEndPoint;
            if (notTcp)
            {
                // A Unix socket, a named pipe, a handle: no TCP half-close to apply; said at start rather than never.
                HalfCloseLog.NotApplicable(shared.Logger, listenOptions.EndPoint.ToString() ?? "?", listenOptions.EndPoint.GetType().Name);
            }

            var http1Possible = (listenOptions.Protocols & HttpProtocols.Http1) == HttpProtocols.Http1;
            return new HalfCloseConnectionMiddleware(next, shared, http1Possible, toldNotApplicable: notTcp).OnConnectionAsync;
        });
        return listenOptions;
    }
}
