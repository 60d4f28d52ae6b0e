using HardFocus.Training.Cli;

namespace HardFocus.Training;

/// <summary>
/// One writer per folder: an exclusive OS lock (flock on Unix) on the folder's .lock file, held open for as long as
/// the process works in the folder. The OS drops the lock when the process ends, however it ends, so a .lock file
/// left by a killed run blocks nobody. The file is left in place on release: deleting it would let a process that
/// opened it a moment before lock a file nobody else can see any more.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string FileName = ".lock";

    /// <summary>The code .NET gives a lock held by another handle: ERROR_SHARING_VIOLATION on Windows, flock's errno
    /// EWOULDBLOCK elsewhere (11 on Linux, 35 on macOS and the BSDs).</summary>
    private static readonly int HeldElsewhere = OperatingSystem.IsWindows() ? unchecked((int)0x80070020) : OperatingSystem.IsLinux() ? 11 : 35;

    private readonly FileStream _file;

    private RunLock(FileStream file) => _file = file;

    /// <summary>Locks <paramref name="folder"/>, which must exist; another holder gives one <see cref="UserError"/> naming it.</summary>
    public static RunLock Acquire(string folder)
    {
        string path = Path.Combine(folder, FileName);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e.HResult == HeldElsewhere)
        {
            throw InUse(folder);
        }
        // A run that failed before its first checkpoint removes its folder, lock file included, while it still holds
        // the lock. Whoever opened the file just before that and locks it now holds a lock on a file that is gone.
        if (!File.Exists(path))
        {
            file.Dispose();
            throw InUse(folder);
        }
        return new RunLock(file);
    }

    private static UserError InUse(string folder) =>
        new($"{folder} is in use by another hardfocus process; wait for it to finish or use another folder.");

    public void Dispose() => _file.Dispose();
}
