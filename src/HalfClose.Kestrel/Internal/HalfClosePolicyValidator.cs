using Microsoft.Extensions.Options;

namespace HalfClose.Kestrel.Internal;

/// <summary>Checks <see cref="HalfClosePolicyOptions"/>; every message names the configuration key and the value.</summary>
internal static class HalfClosePolicyValidator
{
    public static readonly TimeSpan MaxHalfOpenTimeout = TimeSpan.FromDays(1);

    public static List<string> Validate(HalfClosePolicyOptions options)
    {
        var errors = new List<string>();
        CheckDefined(errors, nameof(options.ClientFin), options.ClientFin);
        if (options.TlsClientFin is { } tls)
        {
            CheckDefined(errors, nameof(options.TlsClientFin), tls);
        }

        CheckDefined(errors, nameof(options.PipelinedRequests), options.PipelinedRequests);
        if (options.HalfOpenTimeout <= TimeSpan.Zero || options.HalfOpenTimeout > MaxHalfOpenTimeout)
        {
            errors.Add($"{Key(nameof(options.HalfOpenTimeout))} must be a positive time span of at most {MaxHalfOpenTimeout:c} " +
                $"(every half-open wait is bounded); got '{options.HalfOpenTimeout:c}'.");
        }

        return errors;
    }

    public static void ThrowIfInvalid(HalfClosePolicyOptions options)
    {
        var errors = Validate(options);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(HalfClosePolicyOptions), errors);
        }
    }

    private static void CheckDefined<TEnum>(List<string> errors, string name, TEnum value)
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            errors.Add($"{Key(name)} must be one of {string.Join(", ", Enum.GetNames<TEnum>())}; got '{value}'.");
        }
    }

    private static string Key(string name) => $"{HalfClosePolicyOptions.SectionName}:{name}";
}
