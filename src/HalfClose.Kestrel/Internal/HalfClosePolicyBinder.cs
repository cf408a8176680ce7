using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Binds the <c>HalfClose</c> section onto <see cref="HalfClosePolicyOptions"/> without reflection (trimming and Native
/// AOT keep nothing it needs away), and refuses what the policy must not guess at: an unknown key, a nested key, an empty
/// value, a list of modes, a value that does not parse. Every message names the key and the value.
/// </summary>
internal static class HalfClosePolicyBinder
{
    private static readonly string Keys = string.Join(", ",
        nameof(HalfClosePolicyOptions.ClientFin), nameof(HalfClosePolicyOptions.TlsClientFin), nameof(HalfClosePolicyOptions.PipelinedRequests),
        nameof(HalfClosePolicyOptions.HalfOpenTimeout), nameof(HalfClosePolicyOptions.Linger), nameof(HalfClosePolicyOptions.LingerTime),
        nameof(HalfClosePolicyOptions.LingerTimeout), nameof(HalfClosePolicyOptions.LingerMaxBytes));

    /// <summary>Sets what the section holds onto <paramref name="options"/>; what it cannot take goes to <paramref name="errors"/>.</summary>
    public static void Bind(IConfiguration section, HalfClosePolicyOptions options, List<string> errors)
    {
        foreach (var child in section.GetChildren())
        {
            var key = $"{HalfClosePolicyOptions.SectionName}:{child.Key}";
            if (child.GetChildren().FirstOrDefault() is { } nested)
            {
                errors.Add($"'{key}:{nested.Key}' was not found: {key} takes one value, not nested keys.");
                continue;
            }

            // A key with no value at all (JSON null, a cleared setting) is not set; an empty string is a value, and refused.
            if (child.Value is not { } value)
            {
                continue;
            }

            switch (child.Key.ToUpperInvariant())
            {
                case "CLIENTFIN":
                    options.ClientFin = Mode(key, value, errors, options.ClientFin);
                    break;
                case "TLSCLIENTFIN":
                    options.TlsClientFin = Mode(key, value, errors, options.TlsClientFin ?? options.ClientFin);
                    break;
                case "PIPELINEDREQUESTS":
                    options.PipelinedRequests = Mode(key, value, errors, options.PipelinedRequests);
                    break;
                case "LINGER":
                    options.Linger = Mode(key, value, errors, options.Linger);
                    break;
                case "HALFOPENTIMEOUT":
                    options.HalfOpenTimeout = Time(key, value, errors, options.HalfOpenTimeout);
                    break;
                case "LINGERTIME":
                    options.LingerTime = Time(key, value, errors, options.LingerTime);
                    break;
                case "LINGERTIMEOUT":
                    options.LingerTimeout = Time(key, value, errors, options.LingerTimeout);
                    break;
                case "LINGERMAXBYTES":
                    options.LingerMaxBytes = Bytes(key, value, errors, options.LingerMaxBytes);
                    break;
                default:
                    errors.Add($"'{key}' was not found: the keys of the {HalfClosePolicyOptions.SectionName} section are {Keys}.");
                    break;
            }
        }
    }

    private static TEnum Mode<TEnum>(string key, string value, List<string> errors, TEnum current)
        where TEnum : struct, Enum
    {
        // A list would parse as flags ORed into some defined mode: one mode per key.
        if (!value.Contains(',', StringComparison.Ordinal) && Enum.TryParse<TEnum>(value.Trim(), ignoreCase: true, out var mode) && Enum.IsDefined(mode))
        {
            return mode;
        }

        var list = value.Contains(',', StringComparison.Ordinal) ? " (one mode, not a list)" : "";
        errors.Add($"{key} must be one of {string.Join(", ", Enum.GetNames<TEnum>())}{list}; got '{value}'.");
        return current;
    }

    private static TimeSpan Time(string key, string value, List<string> errors, TimeSpan current)
    {
        if (TimeSpan.TryParse(value.Trim(), CultureInfo.InvariantCulture, out var time))
        {
            return time;
        }

        errors.Add($"{key} must be a time span such as 00:00:30; got '{value}'.");
        return current;
    }

    private static long? Bytes(string key, string value, List<string> errors, long? current)
    {
        // A negative number parses, so that the validator says what a cap must be.
        if (long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bytes))
        {
            return bytes;
        }

        errors.Add($"{key} must be a whole number of bytes; got '{value}'.");
        return current;
    }
}
