using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>A self-signed certificate for 127.0.0.1, made once per test run; also written as a PFX file for configuration.</summary>
public static class TestCertificate
{
    public const string Password = "half-close-tests";

    private static readonly Lazy<(X509Certificate2 Certificate, string Path)> Created = new(Create);

    public static X509Certificate2 Certificate => Created.Value.Certificate;

    public static string PfxPath => Created.Value.Path;

    /// <summary>Accepts exactly the test certificate.</summary>
    public static bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, System.Net.Security.SslPolicyErrors errors) =>
        certificate is not null && certificate.GetCertHashString() == Certificate.GetCertHashString();

    private static (X509Certificate2, string) Create()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var pfx = created.Export(X509ContentType.Pfx, Password);
        // In a directory of its own: Kestrel watches a configured certificate's directory, recursively, and a busy one (the
        // temp directory itself) can overflow the watcher, which then fires every token; a change firing while Kestrel loads
        // its configuration was seen to deadlock Kestrel's certificate watcher (its lock against the change token's).
        var path = System.IO.Path.Combine(TestDirectory.Create("halfclose-tests"), "certificate.pfx");
        File.WriteAllBytes(path, pfx);
        return (X509CertificateLoader.LoadPkcs12(pfx, Password), path);
    }
}
