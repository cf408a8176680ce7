using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace HalfClose.Kestrel.Internal;

/// <summary>Puts the request middleware first in the application's pipeline.</summary>
internal sealed class HalfCloseStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        var tracking = new HalfCloseRequestTracking(new EndpointPolicies(app.ApplicationServices.GetService<EndpointDataSource>()));
        app.Use(tracking.InvokeAsync);
        next(app);
    };
}
