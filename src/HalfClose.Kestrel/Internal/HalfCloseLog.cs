using Microsoft.Extensions.Logging;

namespace HalfClose.Kestrel.Internal;

/// <summary>The library's log events. Per-connection events are Debug; nothing above Information on the healthy path.</summary>
internal static partial class HalfCloseLog
{
    public const string CategoryName = "HalfClose.Kestrel";

    [LoggerMessage(1, LogLevel.Debug, "Connection {ConnectionId}: the client half-closed (FIN) in phase {Phase}; the policy is {Action}.", EventName = "ClientHalfClosed")]
    public static partial void ClientHalfClosed(ILogger logger, string connectionId, FinPhase phase, FinAction action);

    [LoggerMessage(2, LogLevel.Debug, "Connection {ConnectionId}: served after the client's FIN; half-open for {HalfOpenMilliseconds} ms.", EventName = "ServedAfterFin")]
    public static partial void ServedAfterFin(ILogger logger, string connectionId, double halfOpenMilliseconds);

    [LoggerMessage(3, LogLevel.Debug, "Connection {ConnectionId}: the client half-closed (FIN); aborted by policy.", EventName = "AbortedOnFin")]
    public static partial void AbortedOnFin(ILogger logger, string connectionId);

    [LoggerMessage(4, LogLevel.Information, "Connection {ConnectionId}: half-open longer than {HalfOpenTimeout}; closed, request aborted.", EventName = "HalfOpenTimedOut")]
    public static partial void HalfOpenTimedOut(ILogger logger, string connectionId, TimeSpan halfOpenTimeout);

    [LoggerMessage(5, LogLevel.Debug, "Connection {ConnectionId}: reset by the client while half-open; request aborted.", EventName = "ResetWhileHalfOpen")]
    public static partial void ResetWhileHalfOpen(ILogger logger, string connectionId);

    [LoggerMessage(6, LogLevel.Debug, "Connection {ConnectionId}: multiplexed protocol (HTTP/2); TCP half-close does not apply, passed through.", EventName = "Bypassed")]
    public static partial void Bypassed(ILogger logger, string connectionId);

    [LoggerMessage(7, LogLevel.Information, "Half-close policy changed: {Policy}.", EventName = "PolicyReloaded")]
    public static partial void PolicyReloaded(ILogger logger, string policy);

    [LoggerMessage(8, LogLevel.Warning, "Half-close configuration change rejected: {Reason} The policy in force stays {Policy}.", EventName = "PolicyChangeRejected")]
    public static partial void PolicyChangeRejected(ILogger logger, string reason, string policy);

    [LoggerMessage(10, LogLevel.Debug, "Connection {ConnectionId}: closed by the server while the client may still send; {End} after {LingerMilliseconds} ms, {DrainedBytes} bytes discarded.", EventName = "LingerEnded")]
    public static partial void LingerEnded(ILogger logger, string connectionId, LingerEnd end, double lingerMilliseconds, long drainedBytes);

    [LoggerMessage(11, LogLevel.Warning, "Connection {ConnectionId}: the endpoint's own half-close policy was applied after the connection started; its Linger {Linger} does not apply to it.", EventName = "EndpointPolicyLate")]
    public static partial void EndpointPolicyLate(ILogger logger, string connectionId, LingerMode linger);

    [LoggerMessage(12, LogLevel.Information, "Endpoint {EndPoint} has no half-close middleware (the application set its own Kestrel endpoint defaults): the policy is applied by the transport.", EventName = "AppliedAtTransport")]
    public static partial void AppliedAtTransport(ILogger logger, string endPoint);

    [LoggerMessage(13, LogLevel.Information, "Half-close policy in force: a client's FIN and reset are told apart by how the transport's input ends; half-open connections are watched for a later reset with {Watch}.", EventName = "MechanismInForce")]
    public static partial void MechanismInForce(ILogger logger, SocketWatch watch);

    [LoggerMessage(14, LogLevel.Warning, "The OS's TCP state could not be read here ({Error}); half-open connections are watched with {Watch} from now on.", EventName = "WatchFellBack")]
    public static partial void WatchFellBack(ILogger logger, string error, SocketWatch watch);

    [LoggerMessage(15, LogLevel.Warning, "Endpoint {EndPoint}: its connections are not TCP sockets ({Transport}); the half-close policy does not apply to them.", EventName = "NotApplicable")]
    public static partial void NotApplicable(ILogger logger, string endPoint, string transport);

    [LoggerMessage(16, LogLevel.Debug, "Connection {ConnectionId}: the lingering close ended in a reset: {Cause}.", EventName = "LingerReset")]
    public static partial void LingerReset(ILogger logger, string connectionId, string cause, Exception? exception);

    [LoggerMessage(9, LogLevel.Error, "Connection {ConnectionId}: unexpected error in the half-close policy.", EventName = "UnexpectedError")]
    public static partial void UnexpectedError(ILogger logger, string connectionId, Exception exception);
}
