using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace HalfClose.Kestrel.Internal;

/// <summary>Puts the request middleware first in the application's pipeline.</summary>
internal sealed class HalfCloseStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(HalfCloseRequestTracking.InvokeAsync);
        next(app);
    };
}
