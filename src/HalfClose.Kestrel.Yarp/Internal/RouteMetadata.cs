using Yarp.ReverseProxy.Configuration;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>Reads the half-close keys of a YARP route's <c>Metadata</c>.</summary>
internal static class RouteMetadata
{
    /// <summary>The route metadata key of the client-FIN policy.</summary>
    public const string ClientFinKey = "HalfClose.ClientFin";

    /// <summary>Parses the route's client-FIN policy: null when the key is absent; an error message naming the route, key and value when it is not a mode.</summary>
    public static ClientFinMode? ClientFin(RouteConfig route, out string? error)
    {
        error = null;
        if (route.Metadata is null || !route.Metadata.TryGetValue(ClientFinKey, out var value))
        {
            return null;
        }

        foreach (var name in Enum.GetNames<ClientFinMode>())
        {
            if (string.Equals(name, value?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return Enum.Parse<ClientFinMode>(name);
            }
        }

        error = $"Route '{route.RouteId}': metadata '{ClientFinKey}' must be one of {string.Join(", ", Enum.GetNames<ClientFinMode>())}; got '{value}'.";
        return null;
    }
}
