namespace HardFocus.Training;

/// <summary>
/// The operations that change a run folder's checkpoint files. A save is nothing but a sequence of these, so a test
/// can put a failing implementation in place of the disk and check that no failure, at any point, loses the last
/// complete checkpoint. Reading goes to the disk directly: a failed read changes nothing.
/// </summary>
public interface IRunFolderIO
{
    /// <summary>Creates a new file for writing; it is an error if the file exists.</summary>
    Stream Create(string path);

    /// <summary>Makes everything written to a stream from <see cref="Create"/> durable before the file is renamed into place.</summary>
    void Flush(Stream stream);

    /// <summary>Renames a file, replacing any file of the new name in one step.</summary>
    void Move(string from, string to);

    void Delete(string path);
}

/// <summary>The real file system.</summary>
public sealed class DiskRunFolderIO : IRunFolderIO
{
    public static readonly DiskRunFolderIO Instance = new();

    public Stream Create(string path) => new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);

    public void Flush(Stream stream) => ((FileStream)stream).Flush(flushToDisk: true);

    public void Move(string from, string to) => File.Move(from, to, overwrite: true);

    public void Delete(string path) => File.Delete(path);
}
