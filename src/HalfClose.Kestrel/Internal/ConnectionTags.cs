using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// A connection's attributes as Kestrel's own connection metrics name them (<c>server.address</c>, <c>server.port</c>,
/// <c>network.type</c>, <c>network.transport</c>, <c>tls.protocol.version</c>): read once, then fixed for the connection,
/// so an up-down counter's -1 carries the tags of its +1.
/// </summary>
internal readonly record struct ConnectionTags(string? ServerAddress, int ServerPort, string? NetworkType, string? TlsProtocolVersion)
{
    public static ConnectionTags Of(ConnectionContext connection)
    {
        var local = connection.LocalEndPoint as IPEndPoint;
        return new ConnectionTags(
            local?.Address.ToString(),
            local?.Port ?? 0,
            local?.AddressFamily switch { AddressFamily.InterNetwork => "ipv4", AddressFamily.InterNetworkV6 => "ipv6", _ => null },
            TlsVersion(connection));
    }

    public TagList ToTagList()
    {
        var tags = new TagList { { "network.transport", "tcp" } };
        if (NetworkType is not null)
        {
            tags.Add("network.type", NetworkType);
        }

        if (ServerAddress is not null)
        {
            tags.Add("server.address", ServerAddress);
            tags.Add("server.port", ServerPort);
        }

        if (TlsProtocolVersion is not null)
        {
            tags.Add("tls.protocol.version", TlsProtocolVersion);
        }

        return tags;
    }

    /// <summary>The TLS version, as Kestrel tags it; none for cleartext, or while a TLS handshake is not finished.</summary>
    private static string? TlsVersion(ConnectionContext connection)
    {
        try
        {
#pragma warning disable SYSLIB0039, CA5397 // Older protocols are named as Kestrel names them, not negotiated here.
            return connection.Features.Find<ITlsHandshakeFeature>()?.Protocol switch
            {
                SslProtocols.Tls => "1.0",
                SslProtocols.Tls11 => "1.1",
                SslProtocols.Tls12 => "1.2",
                SslProtocols.Tls13 => "1.3",
                _ => null,
            };
#pragma warning restore SYSLIB0039, CA5397
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            return null;
        }
    }
}
