using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// The facet the middleware above talks to, each on its own thread: the request middleware pushes the request in flight's
/// facts, routing its endpoint, an endpoint's policy middleware its own policy. Nothing here reads another thread's state.
/// </summary>
internal sealed partial class HalfCloseConnection
{
    /// <summary>
    /// The connection whose input last had a request's head taken on this thread (<see cref="OnHeadTaken"/>), until a
    /// request takes it (<see cref="OfRequest"/>). Holds one connection a thread at most, and none past its end on the
    /// thread it ends on.
    /// </summary>
    [ThreadStatic]
    private static HalfCloseConnection? t_headTaken;

    private EndpointNotifier? _endpointNotifier;

    /// <summary>The feature collection of this connection's requests (Kestrel keeps one for them all): its request thread only.</summary>
    private IFeatureCollection? _requestFeatures;
    private volatile bool _failedAfterFin;

    /// <summary>
    /// The FIN was decided to be served: set under the lock before the decision is logged or counted, so that a request
    /// ending once anyone could have seen the count is answered after the FIN. The application learns of the FIN later
    /// (<see cref="IsClientHalfClosed"/>), once Kestrel has been asked to close where the policy wants it.
    /// </summary>
    private volatile bool _finServed;
    private int _closeGate;
    private int _facts;

    /// <summary>The request whose end Kestrel tells once its response is complete (<see cref="EndOnCompleted"/>): its request's thread only.</summary>
    private HttpContext? _completing;

    /// <summary>What the request in flight told as it started (<c>MayHaveBody</c>, <c>ClientCloses</c>): its request's thread only.</summary>
    private RequestFacts _started;

    /// <summary>The request in flight's facts, as the request middleware last pushed them (written by the request's thread only).</summary>
    private RequestFacts Facts => (RequestFacts)Volatile.Read(ref _facts);

    /// <summary>
    /// The connection under the policy that a request with <paramref name="features"/> belongs to; null without one. Kestrel
    /// runs a request's first middleware on the thread that took the request's head from the connection's input, with nothing
    /// awaited between: a connection whose head was just taken here, and whose requests have these features, is the one,
    /// without <see cref="Of"/>'s lookup (which searches the request's features, then the connection's); on its first request,
    /// once the request's connection id is this connection's. Otherwise (a read that did not wait, say), the lookup.
    /// </summary>
    public static HalfCloseConnection? OfRequest(IFeatureCollection features)
    {
        if (t_headTaken is { } taken)
        {
            t_headTaken = null;
            if (ReferenceEquals(taken._requestFeatures, features))
            {
                return taken;
            }

            if (taken._requestFeatures is null && taken.IsConnectionOf(features))
            {
                // The connection's first request: its features are not known yet, its connection's id (the same string).
                taken._requestFeatures = features;
                return taken;
            }
        }

        var connection = Of(features);
        if (connection is not null)
        {
            connection._requestFeatures = features;
        }

        return connection;
    }

    /// <summary>
    /// Whether a request with <paramref name="features"/> is on this connection: Kestrel gives its requests the connection's
    /// own id, the same string (a known feature of the request's, no search of the connection's features). Compared as
    /// objects: another connection's id is another string, even one an application made equal.
    /// </summary>
    private bool IsConnectionOf(IFeatureCollection features) =>
        features[typeof(IHttpConnectionFeature)] is IHttpConnectionFeature request && ReferenceEquals(request.ConnectionId, _connection.ConnectionId);

    /// <summary>
    /// An endpoint's own policy met a connection already built with another (the endpoint could not be told apart when
    /// the connection was accepted): it decides from now on; a send path chosen for the other policy stays.
    /// </summary>
    public void AdoptPolicy(HalfCloseContext endpoint)
    {
        var policy = endpoint.Source.Current;
        lock (Gate)
        {
            _machine.ReplacePolicy(policy);
        }

        if ((policy.Linger != LingerMode.Off) != (_output is not null) && _belowTls)
        {
            HalfCloseLog.EndpointPolicyLate(_shared.Logger, _connection.ConnectionId, policy.Linger);
        }
    }

    /// <summary>
    /// A request starts (the request middleware, on the request's thread). With <paramref name="endpointMayDecide"/> (some
    /// endpoint has its own policy), the connection hears which endpoint routing picks.
    /// </summary>
    /// <returns>The request's upgrade feature, with the connection told of its 101, when the request can be upgraded; null otherwise.</returns>
    public IHttpUpgradeFeature? RequestStarted(HttpContext context, bool endpointMayDecide)
    {
        var mayHaveBody = context.Features.Find<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true;
        var request = context.Request;
        var connectionHeader = request.Headers.Connection;
        var clientCloses = ClientCloses(request.Protocol, connectionHeader);
        _started = (mayHaveBody ? RequestFacts.MayHaveBody : 0) | (clientCloses ? RequestFacts.ClientCloses : 0);
        Volatile.Write(ref _facts, (int)(RequestFacts.InFlight | (_started & RequestFacts.MayHaveBody)));

        if (_output is not null && !mayHaveBody && clientCloses && _input.HoldsNothingUnread())
        {
            // The connection's first request (nothing written yet), without a body, its client sends nothing after it, and
            // nothing after it has come: no linger can be called for, so the transport sends and closes as it would without
            // the policy (one connection per request costs no send path). Bytes such a client sends after this look are
            // treated as Kestrel treats them.
            _output.TryPassThrough();
        }

        // Routing tells which endpoint the request gets, and so whether its own policy decides the FIN.
        if (endpointMayDecide)
        {
            (_endpointNotifier ??= new EndpointNotifier(this)).Attach(context.Features);
        }

        // Kestrel has begun a request (below TLS, the first sign of it that is sure). Wanted before, the close is asked now;
        // asked already as Kestrel began reading this request, before it set the request's keep-alive, it is asked again:
        // this one, the request in flight, is its last.
        if (Volatile.Read(ref _closeGate) != (int)CloseGate.ReadBegun
            && ((CloseGate)Interlocked.Or(ref _closeGate, (int)CloseGate.ReadBegun) | CloseGate.ReadBegun) == CloseGate.Open)
        {
            _connection.Features.Find<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        }

        // Only a request with a Connection header (Connection: upgrade) can be upgraded: most have none, and skip the lookup.
        if (connectionHeader.Count == 0 || context.Features.Find<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true } upgrade)
        {
            return null;
        }

        var notifier = new UpgradeNotifier(upgrade, this);
        context.Features.Put<IHttpUpgradeFeature>(notifier);
        return notifier;
    }

    /// <summary>
    /// Routing picked the request's endpoint, whose own client-FIN policy is <paramref name="endpointClientFin"/> (on the
    /// request's thread). Its <c>Abort</c> applies even to a FIN already served.
    /// </summary>
    public void EndpointSelected(ClientFinMode? endpointClientFin)
    {
        if (endpointClientFin is not { } clientFin)
        {
            return;
        }

        var aborts = clientFin == ClientFinMode.Abort;
        Volatile.Write(ref _facts, (int)(Facts | (aborts ? RequestFacts.EndpointAborts : RequestFacts.EndpointServes)));
        if (aborts)
        {
            // Under the lock after the write: a FIN decided before it is aborted here, one decided after it reads the fact.
            Run(static (ref machine, _, _) => machine.EndpointAborts());
        }
    }

    /// <summary>The request in flight was answered 101 (on the request's thread).</summary>
    public void RequestUpgraded() => Volatile.Write(ref _facts, (int)(Facts | RequestFacts.Upgraded));

    /// <summary>
    /// The request's pipeline goes on asynchronously: <see cref="RequestEnded"/> once Kestrel has completed its response
    /// (its <c>OnCompleted</c> callbacks, before it reads any rest of the body or the next request).
    /// </summary>
    public void EndOnCompleted(HttpContext context)
    {
        _completing = context;
        context.Response.OnCompleted(
            static state =>
            {
                var connection = (HalfCloseConnection)state;
                var context = connection._completing!;
                connection._completing = null;
                connection.RequestEnded(context);
                return Task.CompletedTask;
            },
            this);
    }

    /// <summary>The request's pipeline has finished (on the request's thread); counted when it was answered after the FIN.</summary>
    public void RequestEnded(HttpContext context)
    {
        // Kestrel may still read the rest after this; if the connection ends instead, the client may still be sending it. (A
        // request's headers, and so whether it can have a body and whether its client closes, are as they were at its start.)
        var started = _started;
        var bodyUnread = started.Has(RequestFacts.MayHaveBody) && context.Features.Find<IHttpRequestTrailersFeature>() is { Available: false };
        Volatile.Write(ref _facts, (int)((bodyUnread ? RequestFacts.BodyUnread : RequestFacts.None) | (started & RequestFacts.ClientCloses)));
        if (!_finServed)
        {
            return;
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            // Kestrel aborted it after the FIN: a write failed, the client reset (the transport noticed before the watch did).
            _failedAfterFin = true;
        }
        else
        {
            _telemetry.RequestAfterFin();
        }
    }

    /// <summary>
    /// Whether the client said it sends nothing after this request: <c>Connection: close</c> (HTTP/1.1), or no
    /// <c>keep-alive</c> (HTTP/1.0). Such a client must not send another request (RFC 9112, section 9.6).
    /// </summary>
    internal static bool ClientCloses(string protocol, StringValues connection)
    {
        if (HttpProtocol.IsHttp11(protocol))
        {
            return HasToken(connection, "close");
        }

        return HttpProtocol.IsHttp10(protocol) && !HasToken(connection, "keep-alive");
    }

    /// <summary>Whether a comma-separated header (every line of it) holds <paramref name="token"/>, in any case.</summary>
    private static bool HasToken(StringValues values, string token)
    {
        foreach (var value in values)
        {
            var rest = value.AsSpan();
            while (!rest.IsEmpty)
            {
                var comma = rest.IndexOf(',');
                var item = (comma < 0 ? rest : rest[..comma]).Trim();
                if (item.Equals(token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }

                rest = comma < 0 ? default : rest[(comma + 1)..];
            }
        }

        return false;
    }
}
