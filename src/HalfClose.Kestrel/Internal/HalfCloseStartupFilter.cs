using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace HalfClose.Kestrel.Internal;

/// <summary>Puts the request middleware first in the application's pipeline, with the hook another of the policy's packages registered.</summary>
internal sealed class HalfCloseStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        var endpoints = new EndpointPolicies(app.ApplicationServices.GetService<EndpointDataSource>());
        var hook = app.ApplicationServices.GetService<IRequestHook>();
        app.Use(next => new HalfCloseRequestTracking(endpoints, hook, next).InvokeAsync);
        next(app);
    };
}
