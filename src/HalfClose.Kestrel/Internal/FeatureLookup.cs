using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Feature lookups through the collection's indexer: one interface call. <c>Get&lt;T&gt;</c> and <c>Set&lt;T&gt;</c> are
/// generic virtual methods, which the runtime resolves through its dispatch cache on every call; on the connection's and
/// the request's paths those resolutions were a visible part of the policy's cost.
/// </summary>
internal static class FeatureLookup
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T? Find<T>(this IFeatureCollection features)
        where T : class => features[typeof(T)] as T;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Put<T>(this IFeatureCollection features, T? feature)
        where T : class => features[typeof(T)] = feature;
}
