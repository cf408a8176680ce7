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
        CheckDefined(errors, nameof(options.Linger), options.Linger);
        CheckBound(errors, nameof(options.HalfOpenTimeout), options.HalfOpenTimeout, MaxHalfOpenTimeout);
        CheckBound(errors, nameof(options.LingerTime), options.LingerTime, MaxHalfOpenTimeout);
        CheckBound(errors, nameof(options.LingerTimeout), options.LingerTimeout, options.LingerTime > TimeSpan.Zero ? options.LingerTime : MaxHalfOpenTimeout);
        if (options.LingerMaxBytes is <= 0)
        {
            errors.Add($"{Key(nameof(options.LingerMaxBytes))} must be a positive number of bytes, or absent for no cap; got '{options.LingerMaxBytes}'.");
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

    private static void CheckBound(List<string> errors, string name, TimeSpan value, TimeSpan max)
    {
        if (value <= TimeSpan.Zero || value > max)
        {
            errors.Add($"{Key(name)} must be a positive time span of at most {max:c} (every wait is bounded); got '{value:c}'.");
        }
    }

    private static string Key(string name) => $"{HalfClosePolicyOptions.SectionName}:{name}";
}
