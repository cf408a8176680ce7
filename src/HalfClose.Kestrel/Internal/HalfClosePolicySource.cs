using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Binds, validates and re-reads the policy. The first build throws (start fails with a message naming the bad key);
/// a later change that does not bind or validate is logged and the last good policy stays in force.
/// </summary>
/// <remarks>
/// Not built on <c>IOptionsMonitor</c>: its change callback rethrows binding and validation errors on the
/// configuration reload thread, where nobody observes them.
/// </remarks>
internal sealed class HalfClosePolicySource : IDisposable
{
    private static readonly string[] ModeKeys =
    [
        nameof(HalfClosePolicyOptions.ClientFin),
        nameof(HalfClosePolicyOptions.TlsClientFin),
        nameof(HalfClosePolicyOptions.PipelinedRequests),
        nameof(HalfClosePolicyOptions.Linger),
    ];

    private readonly IConfiguration? _section;
    private readonly Action<HalfClosePolicyOptions>? _configure;
    private readonly ILogger _logger;
    private readonly IDisposable? _reloadRegistration;
    private volatile HalfClosePolicy _current;

    public HalfClosePolicySource(IConfiguration? section, Action<HalfClosePolicyOptions>? configure, ILogger logger)
    {
        _section = section;
        _configure = configure;
        _logger = logger;
        _current = Build();
        if (section is not null)
        {
            _reloadRegistration = ChangeToken.OnChange(section.GetReloadToken, Reload);
        }
    }

    /// <summary>The policy for connections accepted now.</summary>
    public HalfClosePolicy Current => _current;

    public void Dispose() => _reloadRegistration?.Dispose();

    private HalfClosePolicy Build()
    {
        var options = new HalfClosePolicyOptions();
        if (_section is not null)
        {
            RejectModeLists(_section);
            try
            {
                _section.Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
            }
            catch (InvalidOperationException ex)
            {
                throw new InvalidOperationException(
                    $"The '{HalfClosePolicyOptions.SectionName}' configuration section is invalid: {ex.Message}", ex);
            }
        }

        _configure?.Invoke(options);
        HalfClosePolicyValidator.ThrowIfInvalid(options);
        return HalfClosePolicy.From(options);
    }

    /// <summary>
    /// The binder reads an enum as flags: <c>"Serve,Abort"</c> would bind as Abort, a defined value. One mode per key.
    /// </summary>
    private static void RejectModeLists(IConfiguration section)
    {
        var errors = new List<string>();
        foreach (var key in ModeKeys)
        {
            if (section[key] is { } value && value.Contains(',', StringComparison.Ordinal))
            {
                errors.Add($"{HalfClosePolicyOptions.SectionName}:{key} takes one mode, not a list; got '{value}'.");
            }
        }

        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(HalfClosePolicyOptions), errors);
        }
    }

    private void Reload()
    {
        try
        {
            var policy = Build();
            if (policy != _current)
            {
                _current = policy;
                HalfCloseLog.PolicyReloaded(_logger, policy.ToString());
            }
        }
        catch (Exception ex)
        {
            HalfCloseLog.PolicyChangeRejected(_logger, ex.Message, _current.ToString());
        }
    }
}
