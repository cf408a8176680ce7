using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>Puts the tunnel middleware first in the application's pipeline, ahead of the proxy.</summary>
internal sealed class TunnelStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(TunnelMiddleware.InvokeAsync);
        next(app);
    };
}
