using HalfClose.Kestrel.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>
/// Puts the tunnel middleware first in the application's pipeline, ahead of the proxy; not where the policy's request
/// middleware is there (<c>UseHalfClosePolicy()</c>), which runs the tunnel's part itself (<see cref="IRequestHook"/>).
/// </summary>
internal sealed class TunnelStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        if (app.ApplicationServices.GetService<HalfClosePolicyRegistration>() is null)
        {
            app.Use(TunnelMiddleware.Create);
        }

        next(app);
    };
}
