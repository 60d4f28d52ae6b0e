using System.Text.Json;
using System.Text.Json.Serialization;
using HardFocus.Engine;
using HardFocus.Engine.IO;
using HardFocus.Models;
using HardFocus.Training.Data;
using HardFocus.Training.Optim;

namespace HardFocus.Training;

/// <summary>What trainer.json records: where the run is, and the options that decide what comes next.
/// <paramref name="ReweighterState"/> is what a stateful reweighter saved (null for the others and in older files).
/// <paramref name="Sha256"/> maps each checkpoint file's name to its SHA-256 in lower-case hex (null in older files).
/// <paramref name="Ranks"/> is how many data-parallel processes trained the run (null in older files: one). The loader
/// position counts global batches, so the run resumes exactly only under the same number.</summary>
public sealed record TrainerState(int Step, LoaderState Loader, TrainOptions Options, string Backend, double[]? ReweighterState = null,
    IReadOnlyDictionary<string, string>? Sha256 = null, int? Ranks = null);

/// <summary>
/// One run's folder: config.json, model.safetensors, optimizer.safetensors, trainer.json, metrics.jsonl and
/// samples.jsonl. How a checkpoint is saved and found again, so that no failed save loses the last one, is
/// <see cref="CheckpointFiles"/>'s job; loads check every file against the SHA-256 that trainer.json records.
/// </summary>
public sealed class RunFolder
{
    public const string ConfigFile = "config.json", ModelFile = "model.safetensors", OptimizerFile = "optimizer.safetensors";
    public const string TrainerFile = "trainer.json", MetricsFile = "metrics.jsonl", SamplesFile = "samples.jsonl";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        // Enums as their kebab-case names, the CLI's spelling; reading ignores case, so older files' "Left" still loads.
        Converters = { new JsonStringEnumConverter(OptionNames.Policy, allowIntegerValues: false) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // Reading is strict (see TrainerStateFile): a null, a missing constructor field or a misspelt name is refused.
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    private readonly CheckpointFiles _checkpoint;

    /// <param name="io">Where a save's file operations go; the disk unless a test injects failures.</param>
    public RunFolder(string path, IRunFolderIO? io = null)
    {
        Path = System.IO.Path.GetFullPath(path);
        _checkpoint = new CheckpointFiles(this, io ?? DiskRunFolderIO.Instance);
    }

    public string Path { get; }
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public bool HasCheckpoint => System.IO.File.Exists(File(TrainerFile));

    /// <summary>Writes a checkpoint of this step; refuses, touching no file, when a weight or optimizer value is not finite.</summary>
    public void SaveCheckpoint(DecoderModel model, IOptimizer optimizer, TrainerState state) => _checkpoint.Save(model, optimizer, state);

    /// <summary>trainer.json, every field checked: one line naming the file and the field when one is missing, of the
    /// wrong type or out of range.</summary>
    public TrainerState LoadTrainerState()
    {
        if (!HasCheckpoint) throw new FileNotFoundException($"No checkpoint in {Path} (trainer.json is missing).");
        return TrainerStateFile.Read(File(TrainerFile), Json);
    }

    /// <summary>Reads config.json; with <paramref name="state"/> (the folder's trainer.json) it must be the file that state committed.</summary>
    public IDecoderConfig LoadConfig(TrainerState? state = null) => DecoderConfigs.Load(_checkpoint.Locate(ConfigFile, state));

    /// <summary>Loads weights into <paramref name="model"/>; with <paramref name="state"/> (the folder's trainer.json) they
    /// come from the file that state committed, checked against its SHA-256.</summary>
    public void LoadModel(DecoderModel model, TrainerState? state = null) => LoadInto(Safetensors.Read(_checkpoint.Locate(ModelFile, state)), model);

    /// <summary>Loads weights from a .safetensors file, or from a folder: a run folder or a Hugging Face checkpoint, single
    /// or sharded (see <see cref="HuggingFaceCheckpoint.ReadWeights"/>).</summary>
    public static void LoadWeights(string fileOrFolder, DecoderModel model) => model.LoadCheckpoint(HuggingFaceCheckpoint.ReadWeights(fileOrFolder));

    private static void LoadInto(SafetensorsFile file, DecoderModel model) =>
        model.LoadCheckpoint(file.Entries.ToDictionary(e => e.Name, e => (e.Shape, e.Data), StringComparer.Ordinal));

    /// <summary>Loads the optimizer state that <paramref name="state"/> committed, checked against its SHA-256.</summary>
    public void LoadOptimizer(IOptimizer optimizer, TrainerState state)
    {
        var file = Safetensors.Read(_checkpoint.Locate(OptimizerFile, state));
        if (file.Metadata.TryGetValue("optimizer", out var name) && name != optimizer.Name)
            throw new InvalidDataException($"{File(OptimizerFile)} holds {name} state, but the run uses {optimizer.Name}.");
        var backend = optimizer.State().FirstOrDefault().Value?.Backend;
        var tensors = file.Entries.ToDictionary(e => e.Name, e => Tensor.Persistent(e.Data, new Shape(e.Shape), backend));
        optimizer.LoadState(tensors, state.Step);
        foreach (var t in tensors.Values) t.Dispose();
    }

    /// <summary>On resume, drops log rows past the checkpoint's step (they will be replayed identically).</summary>
    public void TruncateLogsAfter(int step)
    {
        foreach (var name in new[] { MetricsFile, SamplesFile })
        {
            string path = File(name);
            if (!System.IO.File.Exists(path)) continue;
            // A row cut short by a crash is dropped with the rest of what comes after the checkpoint.
            var kept = System.IO.File.ReadLines(path).Where(line => StepOfRow(line) is int s && s <= step).ToList();
            WriteAtomically(path, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
        }
    }

    private static int? StepOfRow(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt32(out int step) ? step : null;
        }
        catch (JsonException) { return null; }
    }

    /// <summary>The name a file is written under before it is renamed into place: ".NAME.&lt;32 hex digits&gt;.tmp" beside it.</summary>
    internal static string TemporaryName(string path) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path)!, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");

    private static bool IsTemporaryName(string name) =>
        name.Length >= 39 && name[0] == '.' && name.EndsWith(".tmp", StringComparison.Ordinal) && name[^37] == '.'
        && name[^36..^4].All(char.IsAsciiHexDigitLower);

    /// <summary>Deletes the temporary files (see <see cref="TemporaryName"/>) that writes killed before their own cleanup
    /// left here; returns how many. Only for a folder nothing is writing to: it runs on resume.</summary>
    public int RemoveStaleTemporaryFiles()
    {
        if (!Directory.Exists(Path)) return 0;
        var stale = Directory.EnumerateFiles(Path).Where(f => IsTemporaryName(System.IO.Path.GetFileName(f))).ToList();
        foreach (var f in stale) System.IO.File.Delete(f);
        return stale.Count;
    }

    public static void WriteAtomically(string path, string contents)
    {
        string temp = TemporaryName(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(contents);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            System.IO.File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (System.IO.File.Exists(temp)) System.IO.File.Delete(temp);
        }
    }
}
