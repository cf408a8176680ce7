using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace HalfClose.Kestrel.Yarp.Internal;

/// <summary>
/// YARP's own client factory, with destination connections that can be half-closed: a connection callback that opens the
/// socket as <c>SocketsHttpHandler</c> does and wraps it in a <see cref="TunnelDestinationStream"/>, and a handler that
/// confirms tunnels on 101. Only cleartext HTTP/1.x connections are ever half-closed (a FIN under TLS would be a truncation).
/// </summary>
internal sealed class HalfCloseForwarderHttpClientFactory(ILogger<ForwarderHttpClientFactory> logger) : ForwarderHttpClientFactory(logger)
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        if (handler.ConnectCallback is null && !handler.UseProxy)
        {
            handler.ConnectCallback = ConnectAsync;
        }
    }

    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new TunnelConfirmingHandler(base.WrapHandler(context, handler));

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new TunnelDestinationStream(socket, CanOnlyBeHttp1(context.InitialRequestMessage));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Cleartext, and not HTTP/2 with prior knowledge: the connection speaks HTTP/1.x, whose upgrade owns it whole.</summary>
    private static bool CanOnlyBeHttp1(HttpRequestMessage request) =>
        request.RequestUri is { Scheme: "http" }
        && !(request.Version.Major >= 2 && request.VersionPolicy != HttpVersionPolicy.RequestVersionOrLower);
}
