using HardFocus.Training.Cli;

namespace HardFocus.Training;

/// <summary>
/// A run's hold on its folder while it writes there: the folder's lock; for a new run, the check that nothing is in
/// the way, and the removal of what it wrote when it ends before its first checkpoint, so that a failed start never
/// leaves a folder that can be neither resumed nor reused.
/// </summary>
public sealed class RunClaim : IDisposable
{
    private readonly RunFolder _folder;
    private readonly RunLock _lock;
    private readonly bool _isNew, _created;

    private RunClaim(RunFolder folder, RunLock held, bool isNew, bool created)
    {
        _folder = folder;
        _lock = held;
        _isNew = isNew;
        _created = created;
    }

    /// <summary>Claims a folder for a new run. It must be missing or empty; <paramref name="overwrite"/> empties a
    /// folder that holds a run, or what is left of one, first.</summary>
    public static RunClaim ForNewRun(RunFolder folder, bool overwrite)
    {
        bool created = !Directory.Exists(folder.Path);
        // A folder no run has locked is checked before a lock file goes into it, so a mistaken --out is left untouched;
        // the check is repeated under the lock, where it counts.
        if (!created && !File.Exists(Path.Combine(folder.Path, RunLock.FileName))) InTheWay(folder, overwrite);
        Directory.CreateDirectory(folder.Path);
        var held = RunLock.Acquire(folder.Path);
        try
        {
            foreach (var entry in InTheWay(folder, overwrite)) File.Delete(entry);
        }
        catch
        {
            held.Dispose();
            throw;
        }
        return new RunClaim(folder, held, isNew: true, created);
    }

    public static RunClaim ForResume(RunFolder folder)
    {
        // A folder no run has locked must hold a checkpoint; otherwise the lock comes first, before anything is read, so
        // a resume never reads a run that another process is writing.
        if (!File.Exists(Path.Combine(folder.Path, RunLock.FileName)) && !folder.HasCheckpoint)
            throw new FileNotFoundException($"No checkpoint in {folder.Path} ({RunFolder.TrainerFile} is missing).");
        return new RunClaim(folder, RunLock.Acquire(folder.Path), isNew: false, created: false);
    }

    /// <summary>What a new run must delete before it starts in <paramref name="folder"/>: nothing when the folder is empty;
    /// with <paramref name="overwrite"/>, a run's files. Anything else is refused.</summary>
    private static List<string> InTheWay(RunFolder folder, bool overwrite)
    {
        var entries = Directory.EnumerateFileSystemEntries(folder.Path).Where(e => Path.GetFileName(e) != RunLock.FileName).ToList();
        if (entries.Count == 0) return entries;
        if (!overwrite)
            throw new UserError(folder.HasCheckpoint
                ? $"{folder.Path} already holds a run; continue it with --resume {folder.Path}, or pass --overwrite to start it over."
                : $"{folder.Path} is not empty and holds no complete run (no {RunFolder.TrainerFile}); pass --overwrite to replace what is there, or use another --out.");
        // --overwrite deletes files, so it only acts on what looks like a run folder: a mistyped --out that names a
        // project or home folder (which hold subfolders, and none of a run's files) is refused, not emptied.
        string[] runFiles = [RunFolder.ConfigFile, RunFolder.ModelFile, RunFolder.OptimizerFile, RunFolder.TrainerFile, RunFolder.MetricsFile, RunFolder.SamplesFile];
        string? subfolder = entries.FirstOrDefault(Directory.Exists);
        if (subfolder != null || !entries.Any(e => runFiles.Contains(Path.GetFileName(e))))
            throw new UserError($"--overwrite: {folder.Path} does not look like a run folder ({(subfolder != null ? $"it holds the folder {Path.GetFileName(subfolder)}" : "it holds none of a run's files")}); empty it yourself or use another --out.");
        return entries;
    }

    /// <summary>A new run that ends without a checkpoint (failed or interrupted before it saved one) removes what it
    /// wrote: the folder, if it made it; otherwise the folder's contents, which were its own (the folder was empty,
    /// or emptied by --overwrite, when the run claimed it). A resumed run never removes anything.</summary>
    public void RemoveIfNothingSaved()
    {
        if (!_isNew || _folder.HasCheckpoint) return;
        try
        {
            // Done while the lock is still held, so no other process can start in the folder halfway through.
            if (_created) Directory.Delete(_folder.Path, recursive: true);
            else
                foreach (var entry in Directory.EnumerateFiles(_folder.Path).Where(e => Path.GetFileName(e) != RunLock.FileName))
                    File.Delete(entry);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The run's own error, already on its way to the user, is the one worth reporting.
        }
    }

    public void Dispose() => _lock.Dispose();
}
