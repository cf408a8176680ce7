namespace HalfClose.Kestrel.Tests.Infrastructure;

/// <summary>Directories of this test process's own under the temp directory, removed when the process exits.</summary>
public static class TestDirectory
{
    /// <summary>The path of <c>{name}-{process id}</c> under the temp directory, created, and deleted with its contents at exit.</summary>
    public static string Create(string name)
    {
        var path = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"{name}-{Environment.ProcessId}")).FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Delete(path);
        return path;
    }

    private static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Something still holds a file there: it stays behind, as it did before.
        }
    }
}
