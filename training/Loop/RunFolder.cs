using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using HardFocus.Engine;
using HardFocus.Engine.IO;
using HardFocus.Models.Gpt;
using HardFocus.Training.Data;
using HardFocus.Training.Optim;

namespace HardFocus.Training;

/// <summary>What trainer.json records: where the run is, and the options that decide what comes next.</summary>
public sealed record TrainerState(int Step, LoaderState Loader, TrainOptions Options, string Backend);

/// <summary>
/// One run's folder: config.json, model.safetensors, optimizer.safetensors, trainer.json, metrics.jsonl and
/// samples.jsonl. Every file is written to a temporary name and renamed into place, and the step is stamped into
/// all three checkpoint files, so a save interrupted halfway is detected on resume instead of silently mixing steps.
/// </summary>
public sealed class RunFolder
{
    public const string ConfigFile = "config.json", ModelFile = "model.safetensors", OptimizerFile = "optimizer.safetensors";
    public const string TrainerFile = "trainer.json", MetricsFile = "metrics.jsonl", SamplesFile = "samples.jsonl";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
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
        WriteAtomically(File(ConfigFile), model.Config.ToJson());
        TensorFile.Save(File(ModelFile), model.StateDict(), stamp);
        TensorFile.Save(File(OptimizerFile), optimizer.State(),
            new Dictionary<string, string>(stamp) { ["optimizer"] = optimizer.Name });
        // Written last: a checkpoint counts once trainer.json names its step.
        WriteAtomically(File(TrainerFile), JsonSerializer.Serialize(state, Json));
    }

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
    public void LoadModel(GptModel model, int? expectedStep = null) => LoadWeights(File(ModelFile), model, expectedStep);

    public static void LoadWeights(string safetensorsPath, GptModel model, int? expectedStep = null)
    {
        var file = Safetensors.Read(safetensorsPath);
        CheckStep(safetensorsPath, file.Metadata, expectedStep);
        var tensors = file.Entries.ToDictionary(e => e.Name, e => (e.Shape, e.Data));
        model.LoadStateDict(HuggingFaceGpt2.IsHuggingFaceLayout(tensors.Keys) ? HuggingFaceGpt2.ToModel(tensors) : tensors);
    }

    public void LoadOptimizer(IOptimizer optimizer, int step)
    {
        var file = Safetensors.Read(File(OptimizerFile));
        CheckStep(File(OptimizerFile), file.Metadata, step);
        if (file.Metadata.TryGetValue("optimizer", out var name) && name != optimizer.Name)
            throw new InvalidDataException($"{File(OptimizerFile)} holds {name} state, but the run uses {optimizer.Name}.");
        var backend = optimizer.State().FirstOrDefault().Value?.Backend;
        var tensors = file.Entries.ToDictionary(e => e.Name, e => Tensor.Persistent(e.Data, new Shape(e.Shape), backend));
        optimizer.LoadState(tensors, step);
        foreach (var t in tensors.Values) t.Dispose();
    }

    private static void CheckStep(string path, IReadOnlyDictionary<string, string> metadata, int? expected)
    {
        if (expected == null) return;
        if (!metadata.TryGetValue("step", out var s) || s != expected.Value.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{path} is from step {(s ?? "unknown")} but trainer.json says step {expected}: the checkpoint was not saved completely.");
    }

    /// <summary>On resume, drops log rows past the checkpoint's step (they will be replayed identically).</summary>
    public void TruncateLogsAfter(int step)
    {
        foreach (var name in new[] { MetricsFile, SamplesFile })
        {
            string path = File(name);
            if (!System.IO.File.Exists(path)) continue;
            var kept = System.IO.File.ReadLines(path).Where(line =>
            {
                using var doc = JsonDocument.Parse(line);
                return doc.RootElement.TryGetProperty("step", out var st) && st.GetInt32() <= step;
            }).ToList();
            WriteAtomically(path, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
        }
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
