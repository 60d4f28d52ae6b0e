using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using HardFocus.Engine;
using HardFocus.Engine.IO;
using HardFocus.Models.Gpt;
using HardFocus.Training.Data;
using HardFocus.Training.Optim;

namespace HardFocus.Training;

/// <summary>What trainer.json records: where the run is, and the options that decide what comes next.
/// <paramref name="ReweighterState"/> is what a stateful reweighter saved (null for the others and in older files).</summary>
public sealed record TrainerState(int Step, LoaderState Loader, TrainOptions Options, string Backend, double[]? ReweighterState = null);

/// <summary>
/// One run's folder: config.json, model.safetensors, optimizer.safetensors, trainer.json, metrics.jsonl and
/// samples.jsonl. Checkpoint files are written to a temporary name and renamed into place, and the step is stamped
/// into all three. The previous weights and optimizer state are kept as *.prev until the new trainer.json is in
/// place, so a save interrupted at any point still leaves one complete checkpoint for --resume to load.
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
    };

    public RunFolder(string path) => Path = System.IO.Path.GetFullPath(path);

    public string Path { get; }
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public bool HasCheckpoint => System.IO.File.Exists(File(TrainerFile));

    public void SaveCheckpoint(GptModel model, IOptimizer optimizer, TrainerState state)
    {
        Directory.CreateDirectory(Path);
        var stamp = new Dictionary<string, string> { ["step"] = state.Step.ToString(CultureInfo.InvariantCulture) };
        var weights = model.StateDict().Select(kv => new SafetensorsEntry(kv.Key, kv.Value.Shape.ToArray(), kv.Value.ToArray())).ToList();
        foreach (var w in weights)
            if (!w.Data.All(float.IsFinite))
                throw new InvalidOperationException($"Training diverged before step {state.Step}: '{w.Name}' holds non-finite values; the last checkpoint in {Path} is kept.");
        WriteAtomically(File(ConfigFile), model.Config.ToJson());
        KeepPrevious(ModelFile);
        Safetensors.Write(File(ModelFile), weights, stamp);
        KeepPrevious(OptimizerFile);
        TensorFile.Save(File(OptimizerFile), optimizer.State(),
            new Dictionary<string, string>(stamp) { ["optimizer"] = optimizer.Name });
        // Written last: a checkpoint counts once trainer.json names its step.
        WriteAtomically(File(TrainerFile), JsonSerializer.Serialize(state, Json));
        System.IO.File.Delete(File(ModelFile + PreviousSuffix));
        System.IO.File.Delete(File(OptimizerFile + PreviousSuffix));
    }

    private const string PreviousSuffix = ".prev";

    private void KeepPrevious(string name)
    {
        if (System.IO.File.Exists(File(name))) System.IO.File.Move(File(name), File(name + PreviousSuffix), overwrite: true);
    }

    /// <summary>The file of this name that carries <paramref name="step"/>: the current one, or its *.prev when a save
    /// was interrupted after replacing it but before trainer.json.</summary>
    private SafetensorsFile ReadAtStep(string name, int? step)
    {
        string path = File(name), previous = path + PreviousSuffix;
        bool hasPrevious = System.IO.File.Exists(previous);
        var file = System.IO.File.Exists(path) || !hasPrevious ? Safetensors.Read(path) : null;
        if (step == null) return file!;
        if ((file == null || StepOf(file) != step) && hasPrevious)
        {
            path = previous;
            file = Safetensors.Read(previous);
        }
        if (StepOf(file!) is var found && found != step)
            throw new InvalidDataException($"{path} is from step {found?.ToString(CultureInfo.InvariantCulture) ?? "unknown"} but trainer.json says step {step}: the checkpoint was not saved completely.");
        return file!;
    }

    private static int? StepOf(SafetensorsFile file) =>
        file.Metadata.TryGetValue("step", out var s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int step) ? step : null;

    public TrainerState LoadTrainerState()
    {
        if (!HasCheckpoint) throw new FileNotFoundException($"No checkpoint in {Path} (trainer.json is missing).");
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(System.IO.File.ReadAllText(File(TrainerFile)), Json)
                ?? throw new InvalidDataException($"{File(TrainerFile)} is empty.");
        }
        catch (JsonException e) { throw new InvalidDataException($"{File(TrainerFile)} is not valid: {e.Message}"); }
    }

    public GptConfig LoadConfig() => GptConfig.Load(File(ConfigFile));

    /// <summary>Loads weights into <paramref name="model"/>; with <paramref name="expectedStep"/> the file must carry that step.</summary>
    public void LoadModel(GptModel model, int? expectedStep = null) => LoadInto(ReadAtStep(ModelFile, expectedStep), model);

    public static void LoadWeights(string safetensorsPath, GptModel model) => LoadInto(Safetensors.Read(safetensorsPath), model);

    private static void LoadInto(SafetensorsFile file, GptModel model)
    {
        var tensors = file.Entries.ToDictionary(e => e.Name, e => (e.Shape, e.Data));
        if (HuggingFaceGpt2.IsHuggingFaceLayout(tensors.Keys))
            tensors = HuggingFaceGpt2.ToModel(tensors, model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray()));
        model.LoadStateDict(tensors);
    }

    public void LoadOptimizer(IOptimizer optimizer, int step)
    {
        var file = ReadAtStep(OptimizerFile, step);
        if (file.Metadata.TryGetValue("optimizer", out var name) && name != optimizer.Name)
            throw new InvalidDataException($"{File(OptimizerFile)} holds {name} state, but the run uses {optimizer.Name}.");
        var backend = optimizer.State().FirstOrDefault().Value?.Backend;
        var tensors = file.Entries.ToDictionary(e => e.Name, e => Tensor.Persistent(e.Data, new Shape(e.Shape), backend));
        optimizer.LoadState(tensors, step);
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

    public static void WriteAtomically(string path, string contents)
    {
        string temp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path)!, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
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
