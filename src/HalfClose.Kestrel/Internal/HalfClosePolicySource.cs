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
        var errors = new List<string>();
        if (_section is not null)
        {
            HalfClosePolicyBinder.Bind(_section, options, errors);
        }

        if (errors.Count == 0)
        {
            _configure?.Invoke(options);
            errors.AddRange(HalfClosePolicyValidator.Validate(options));
        }

        if (errors.Count > 0)
        {
            throw new OptionsValidationException(HalfClosePolicyOptions.SectionName, typeof(HalfClosePolicyOptions), errors);
        }

        return HalfClosePolicy.From(options);
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
