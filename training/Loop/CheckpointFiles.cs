using System.Globalization;
using System.Text;
using System.Text.Json;
using HardFocus.Engine;
using HardFocus.Engine.IO;
using HardFocus.Models;
using HardFocus.Training.Optim;

namespace HardFocus.Training;

/// <summary>
/// The commit rule of a run folder's checkpoint (docs/checkpoints.md), both halves: how a save writes its files and how
/// a load finds the committed ones. trainer.json is the commit record: it names the step S and the SHA-256 of each
/// file of S. Until a new trainer.json is in place, S's model and optimizer files sit under their own names or as
/// *.prev, and a save moves a file to *.prev only when it is S's, so no failure at any point of any save loses S.
/// </summary>
internal sealed class CheckpointFiles(RunFolder folder, IRunFolderIO io)
{
    public const string PreviousSuffix = ".prev";

    public void Save(DecoderModel model, IOptimizer optimizer, TrainerState state)
    {
        // Everything comes to the host and is checked before the first file is touched: a diverged run saves nothing.
        var weights = HostCopies(model.StateDict());
        var moments = HostCopies(optimizer.State());
        RefuseNonFinite(weights, "weight", state.Step);
        RefuseNonFinite(moments, "optimizer state", state.Step);

        Directory.CreateDirectory(folder.Path);
        var committed = folder.HasCheckpoint ? folder.LoadTrainerState() : null;
        var sha = new Dictionary<string, string>(StringComparer.Ordinal);

        // config.json is the same for every step of a run: once a committed checkpoint vouches for it, it stays as it is.
        string config = folder.File(RunFolder.ConfigFile);
        sha[RunFolder.ConfigFile] = committed != null && Holds(config, RunFolder.ConfigFile, committed)
            ? Sha256Stream.OfFile(config)
            : Write(config, stream => stream.Write(Encoding.UTF8.GetBytes(model.Config.ToJson())));

        var stamp = new Dictionary<string, string> { ["step"] = state.Step.ToString(CultureInfo.InvariantCulture) };
        foreach (var (name, entries, metadata) in new[]
        {
            (RunFolder.ModelFile, weights, stamp),
            (RunFolder.OptimizerFile, moments, new Dictionary<string, string>(stamp) { ["optimizer"] = optimizer.Name }),
        })
        {
            string path = folder.File(name);
            // Only S's own file may go to *.prev; anything else here is from a save that never committed, and *.prev
            // then already holds S's, so the rename below may replace it.
            if (committed != null && Holds(path, name, committed)) io.Move(path, path + PreviousSuffix);
            sha[name] = Write(path, stream => Safetensors.Write(stream, entries, metadata));
        }

        // The commit: once this rename is done the new step is the checkpoint.
        Write(folder.File(RunFolder.TrainerFile),
            stream => stream.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(state with { Sha256 = sha }, RunFolder.Json))));

        // A *.prev that survives a failed delete belongs to no checkpoint, and the next save replaces it.
        foreach (var name in new[] { RunFolder.ModelFile, RunFolder.OptimizerFile })
            if (File.Exists(folder.File(name + PreviousSuffix))) DeleteQuietly(folder.File(name + PreviousSuffix));
    }

    /// <summary>The path that holds the committed checkpoint's file of this name: the file itself, or its *.prev when a
    /// save failed after setting it aside. Without a trainer.json the file itself is all there is.</summary>
    public string Locate(string name, TrainerState? committed)
    {
        string path = folder.File(name), previous = path + PreviousSuffix;
        if (committed == null || Holds(path, name, committed)) return path;
        if (name != RunFolder.ConfigFile && Holds(previous, name, committed)) return previous;
        string shown = File.Exists(path) || name == RunFolder.ConfigFile || !File.Exists(previous) ? path : previous;
        if (!File.Exists(shown))
            throw new InvalidDataException($"{path} is missing: the checkpoint of step {committed.Step} is incomplete.");
        if (committed.Sha256?.ContainsKey(name) == true)
            throw new InvalidDataException($"{shown} does not match the SHA-256 that {RunFolder.TrainerFile} records for step {committed.Step}: the file is damaged or from another save.");
        string found = StepOf(shown)?.ToString(CultureInfo.InvariantCulture) ?? "unknown";
        throw new InvalidDataException($"{shown} is from step {found} but {RunFolder.TrainerFile} says step {committed.Step}: the checkpoint was not saved completely.");
    }

    /// <summary>Whether the file at <paramref name="path"/> is the committed checkpoint's <paramref name="name"/>: its
    /// SHA-256 is the one trainer.json records. A trainer.json written before checksums records none; then the step
    /// stamped into a safetensors file decides, and config.json, which carries no step, is taken as it is.</summary>
    private static bool Holds(string path, string name, TrainerState committed)
    {
        if (!File.Exists(path)) return false;
        if (committed.Sha256 != null && committed.Sha256.TryGetValue(name, out var expected))
            return string.Equals(Sha256Stream.OfFile(path), expected, StringComparison.OrdinalIgnoreCase);
        return name == RunFolder.ConfigFile || StepOf(path) == committed.Step;
    }

    private static int? StepOf(string path)
    {
        try
        {
            var metadata = Safetensors.Read(path).Metadata;
            return metadata.TryGetValue("step", out var s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int step) ? step : null;
        }
        catch (SafetensorsFormatException) { return null; }
    }

    /// <summary>Writes a file under a temporary name, flushes it to disk and renames it into place; returns its SHA-256.
    /// On failure the temporary file is removed if the disk still allows it (resume removes any left behind).</summary>
    private string Write(string path, Action<Stream> write)
    {
        string temp = RunFolder.TemporaryName(path);
        Stream? file = null;
        try
        {
            file = io.Create(temp);
            string sha;
            using (var hashing = new Sha256Stream(file))
            {
                write(hashing);
                sha = hashing.Hex();
            }
            io.Flush(file);
            file.Dispose();
            file = null;
            io.Move(temp, path);
            return sha;
        }
        catch
        {
            // Closing may try to write buffered bytes to the disk that just failed; the first error is the one to report.
            try { file?.Dispose(); } catch (IOException) { }
            DeleteQuietly(temp);
            throw;
        }
    }

    private void DeleteQuietly(string path)
    {
        try { io.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static List<SafetensorsEntry> HostCopies(IEnumerable<KeyValuePair<string, Tensor>> tensors) =>
        tensors.Select(kv => new SafetensorsEntry(kv.Key, kv.Value.Shape.ToArray(), kv.Value.ToArray())).ToList();

    private void RefuseNonFinite(List<SafetensorsEntry> tensors, string what, int step)
    {
        foreach (var t in tensors)
            foreach (float v in t.Data)
                if (!float.IsFinite(v))
                    throw new InvalidOperationException(
                        $"Training diverged by step {step}: the {what} '{t.Name}' holds non-finite values; nothing was saved, and the last checkpoint in {folder.Path} is kept.");
    }
}
