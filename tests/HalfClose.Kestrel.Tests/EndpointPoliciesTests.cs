using HalfClose.Kestrel.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace HalfClose.Kestrel.Tests;

/// <summary>
/// Whether requests need to hear their endpoint: only where some endpoint has its own client-FIN policy, read from the
/// application's endpoints, and read again after they change.
/// </summary>
public sealed class EndpointPoliciesTests
{
    [Fact]
    public void NoEndpointWithPolicy_RequestsNeedNotHearTheirEndpoint()
    {
        using var source = new ChangingSource(Plain("/a"), Plain("/b"));

        Assert.False(new EndpointPolicies(source).AnyEndpointDecides);
    }

    [Fact]
    public void AnEndpointWithPolicy_RequestsHearTheirEndpoint()
    {
        using var source = new ChangingSource(Plain("/a"), WithPolicy("/b", ClientFinMode.Abort));

        Assert.True(new EndpointPolicies(source).AnyEndpointDecides);
    }

    [Fact]
    public void EndpointsChange_ReadAgain_BothWays()
    {
        using var source = new ChangingSource(Plain("/a"));
        var policies = new EndpointPolicies(source);
        Assert.False(policies.AnyEndpointDecides);

        source.Change(Plain("/a"), WithPolicy("/b", ClientFinMode.Serve));
        Assert.True(policies.AnyEndpointDecides);

        source.Change(Plain("/a"));
        Assert.False(policies.AnyEndpointDecides);
        Assert.Equal(3, source.Reads);
    }

    [Fact]
    public void Unchanged_ReadOnce()
    {
        using var source = new ChangingSource(Plain("/a"));
        var policies = new EndpointPolicies(source);

        for (var i = 0; i < 5; i++)
        {
            Assert.False(policies.AnyEndpointDecides);
        }

        Assert.Equal(1, source.Reads);
    }

    [Fact]
    public void ChangeWhileReading_NextRequestReadsAgain()
    {
        using var source = new ChangingSource(Plain("/a"));
        var policies = new EndpointPolicies(source);

        // The endpoints change while they are being read (the list read is the old one): the stale answer is not kept.
        source.OnRead = () =>
        {
            source.OnRead = null;
            source.Change(WithPolicy("/b", ClientFinMode.Abort));
        };
        Assert.False(policies.AnyEndpointDecides);
        Assert.True(policies.AnyEndpointDecides);
    }

    [Fact]
    public void NoDataSource_EveryRequestHearsItsEndpoint() =>
        Assert.True(new EndpointPolicies(null).AnyEndpointDecides);

    [Fact]
    public void DataSourceFails_RequestsHearTheirEndpoint()
    {
        using var source = new ChangingSource(Plain("/a")) { Fails = true };

        Assert.True(new EndpointPolicies(source).AnyEndpointDecides);
    }

    private static Endpoint Plain(string name) => new(_ => Task.CompletedTask, new EndpointMetadataCollection(), name);

    private static Endpoint WithPolicy(string name, ClientFinMode clientFin) =>
        new(_ => Task.CompletedTask, new EndpointMetadataCollection(new HalfClosePolicyAttribute(clientFin)), name);

    private sealed class ChangingSource(params Endpoint[] endpoints) : EndpointDataSource, IDisposable
    {
        private IReadOnlyList<Endpoint> _endpoints = endpoints;
        private CancellationTokenSource _changed = new();

        public int Reads { get; private set; }

        public bool Fails { get; init; }

        public Action? OnRead { get; set; }

        public override IReadOnlyList<Endpoint> Endpoints
        {
            get
            {
                Reads++;
                var endpoints = _endpoints;
                OnRead?.Invoke();
                return Fails ? throw new InvalidOperationException("The endpoints could not be built.") : endpoints;
            }
        }

        public override IChangeToken GetChangeToken() => new CancellationChangeToken(_changed.Token);

        public void Change(params Endpoint[] endpoints)
        {
            _endpoints = endpoints;
            var changed = _changed;
            _changed = new CancellationTokenSource();
            changed.Cancel();
            changed.Dispose();
        }

        public void Dispose() => _changed.Dispose();
    }
}
