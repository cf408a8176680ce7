using HalfClose.Kestrel.Internal;

namespace HalfClose.Kestrel.Tests;

/// <summary>The pure decision: every combination of options, transport and protocol.</summary>
public sealed class PolicyTests
{
    public static TheoryData<ClientFinMode, ClientFinMode?, PipelinedRequestsMode, bool, bool> AllCombinations()
    {
        var data = new TheoryData<ClientFinMode, ClientFinMode?, PipelinedRequestsMode, bool, bool>();
        foreach (var clientFin in Enum.GetValues<ClientFinMode>())
        {
            foreach (var tlsClientFin in new ClientFinMode?[] { null, ClientFinMode.Serve, ClientFinMode.Abort })
            {
                foreach (var pipelined in Enum.GetValues<PipelinedRequestsMode>())
                {
                    foreach (var isTls in new[] { false, true })
                    {
                        foreach (var isMultiplexed in new[] { false, true })
                        {
                            data.Add(clientFin, tlsClientFin, pipelined, isTls, isMultiplexed);
                        }
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllCombinations))]
    public void OnClientFin_EveryCombination_FollowsTheTable(
        ClientFinMode clientFin, ClientFinMode? tlsClientFin, PipelinedRequestsMode pipelined, bool isTls, bool isMultiplexed)
    {
        var policy = HalfClosePolicy.From(new HalfClosePolicyOptions { ClientFin = clientFin, TlsClientFin = tlsClientFin, PipelinedRequests = pipelined });

        var action = policy.OnClientFin(isTls, isMultiplexed);

        var mode = isTls && tlsClientFin is { } tls ? tls : clientFin;
        var expected = isMultiplexed ? FinAction.Bypass
            : mode == ClientFinMode.Abort ? FinAction.Abort
            : pipelined == PipelinedRequestsMode.Discard ? FinAction.ServeInFlightOnly
            : FinAction.Serve;
        Assert.Equal(expected, action);
    }

    [Theory]
    [InlineData(ClientFinMode.Serve, null, ClientFinMode.Abort, false, true)]
    [InlineData(ClientFinMode.Serve, null, ClientFinMode.Abort, true, true)]
    [InlineData(ClientFinMode.Abort, ClientFinMode.Abort, ClientFinMode.Serve, false, false)]
    [InlineData(ClientFinMode.Abort, ClientFinMode.Abort, ClientFinMode.Serve, true, false)]
    public void OnClientFin_EndpointPolicy_ReplacesConnectionPolicyOnBothTransports(
        ClientFinMode clientFin, ClientFinMode? tlsClientFin, ClientFinMode endpoint, bool isTls, bool aborts)
    {
        var policy = HalfClosePolicy.From(new HalfClosePolicyOptions { ClientFin = clientFin, TlsClientFin = tlsClientFin });

        Assert.Equal(aborts ? FinAction.Abort : FinAction.Serve, policy.OnClientFin(isTls, isMultiplexed: false, endpoint));
        Assert.Equal(FinAction.Bypass, policy.OnClientFin(isTls, isMultiplexed: true, endpoint));
    }

    [Fact]
    public void Defaults_ServeEverything_ThirtySecondTimeout()
    {
        var policy = HalfClosePolicy.Default;

        Assert.Equal(FinAction.Serve, policy.OnClientFin(isTls: false, isMultiplexed: false));
        Assert.Equal(FinAction.Serve, policy.OnClientFin(isTls: true, isMultiplexed: false));
        Assert.Equal(TimeSpan.FromSeconds(30), policy.HalfOpenTimeout);
    }

    [Theory]
    [InlineData((byte)TcpState.CloseWait, false)]
    [InlineData((byte)TcpState.Unknown, false)]
    [InlineData((byte)TcpState.Close, true)]
    [InlineData((byte)TcpState.Established, true)]
    [InlineData((byte)TcpState.LastAck, true)]
    [InlineData((byte)TcpState.TimeWait, true)]
    [InlineData((byte)TcpState.Disposed, true)]
    public void ShowsReset_HalfOpenSocketLeavesCloseWaitOnlyWhenGone_UnreadableSaysNothing(byte state, bool reset) =>
        Assert.Equal(reset, HalfClosePolicy.ShowsReset((TcpState)state));

    [Theory]
    [InlineData(0, 200)]
    [InlineData(700, 200)]
    [InlineData(900, 100)]
    [InlineData(1000, 0)]
    [InlineData(5000, 0)]
    public void NextCheck_ResetIntervalUntilTheTimeout(int halfOpenForMs, int expectedMs)
    {
        var policy = HalfClosePolicy.From(new HalfClosePolicyOptions { HalfOpenTimeout = TimeSpan.FromSeconds(1) });

        var next = policy.NextCheck(TimeSpan.FromMilliseconds(halfOpenForMs), TimeSpan.FromMilliseconds(200));

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), next);
    }

    [Fact]
    public void Validate_Defaults_NoErrors() => Assert.Empty(HalfClosePolicyValidator.Validate(new HalfClosePolicyOptions()));

    [Fact]
    public void Validate_EveryBadValue_OneMessageEach()
    {
        var errors = HalfClosePolicyValidator.Validate(new HalfClosePolicyOptions
        {
            ClientFin = (ClientFinMode)9,
            TlsClientFin = (ClientFinMode)8,
            PipelinedRequests = (PipelinedRequestsMode)7,
            HalfOpenTimeout = TimeSpan.FromSeconds(-1),
        });

        Assert.Collection(
            errors,
            e => Assert.StartsWith("HalfClose:ClientFin must be one of Serve, Abort; got '9'", e, StringComparison.Ordinal),
            e => Assert.StartsWith("HalfClose:TlsClientFin must be one of Serve, Abort; got '8'", e, StringComparison.Ordinal),
            e => Assert.StartsWith("HalfClose:PipelinedRequests must be one of Serve, Discard; got '7'", e, StringComparison.Ordinal),
            e => Assert.StartsWith("HalfClose:HalfOpenTimeout must be a positive time span", e, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("HTTP/1.1", null, false)]
    [InlineData("HTTP/1.1", "close", true)]
    [InlineData("HTTP/1.1", "Keep-Alive , CLOSE", true)]
    [InlineData("HTTP/1.1", "keep-alive|close", true)]
    [InlineData("HTTP/1.1", "closed, upgrade", false)]
    [InlineData("HTTP/1.0", null, true)]
    [InlineData("HTTP/1.0", "keep-alive", false)]
    [InlineData("HTTP/1.0", "close", true)]
    [InlineData("HTTP/2", "close", false)]
    public void ClientCloses_ConnectionCloseOrHttp10WithoutKeepAlive(string protocol, string? connection, bool closes)
    {
        // Each '|' is another header line.
        var lines = connection is null ? default : new Microsoft.Extensions.Primitives.StringValues(connection.Split('|'));

        Assert.Equal(closes, HalfCloseConnection.ClientCloses(protocol, lines));
    }
}
