using System.Globalization;
using System.Text.Json.Nodes;
using HardFocus.Training.Data;

namespace HardFocus.Training.Experiment;

/// <summary>
/// The files an experiment trains and evaluates on, written once into its data/ folder so every arm is an ordinary run
/// folder whose trainer.json names real files, and a resumed experiment sees exactly the data it started with.
/// </summary>
public static class ExperimentData
{
    /// <summary>Corpus A split in two by characters: the base models pretrain on the first <c>BaseShare</c>; every method
    /// continues on the rest (the "new stream"), whose held-out tail is A's validation split. A corpus of several documents
    /// is split between documents, a single document at a paragraph break. Both parts are JSON lines, one document per
    /// line, so document boundaries survive.</summary>
    public static (string BaseCorpus, string StreamCorpus) ContinualCorpora(string dataDir, ContinualSetup setup)
    {
        string basePath = Path.Combine(dataDir, "a-base.jsonl"), streamPath = Path.Combine(dataDir, "a-stream.jsonl");
        if (File.Exists(basePath) && File.Exists(streamPath)) return (basePath, streamPath);

        var documents = TextCorpus.LoadDocuments(setup.Corpus);
        List<string> first, rest;
        if (documents.Count == 1)
        {
            string text = documents[0];
            int cut = text.IndexOf("\n\n", (int)(setup.BaseShare * text.Length), StringComparison.Ordinal);
            if (cut < 0) cut = (int)(setup.BaseShare * text.Length);
            (first, rest) = ([text[..cut]], [text[cut..].TrimStart('\n')]);
        }
        else
        {
            long total = documents.Sum(d => (long)d.Length), running = 0;
            int split = 0;
            while (split < documents.Count - 1 && (running += documents[split].Length) < setup.BaseShare * total) split++;
            split = Math.Clamp(split, 1, documents.Count - 1);
            (first, rest) = (documents.Take(split).ToList(), documents.Skip(split).ToList());
        }
        Directory.CreateDirectory(dataDir);
        WriteDocuments(basePath, first);
        WriteDocuments(streamPath, rest);
        return (basePath, streamPath);
    }

    private static void WriteDocuments(string path, IEnumerable<string> documents) =>
        RunFolder.WriteAtomically(path, string.Concat(documents.Select(d => new JsonObject { ["text"] = d }.ToJsonString() + "\n")));

    /// <summary>A clean test set and, per noise rate, a training set with that share of corrupted answers. The training
    /// sets hold the same questions in the same order; only the corrupted answers differ. No test question is trained on.</summary>
    public static (string Test, IReadOnlyDictionary<double, string> Train) InstructionSets(string dataDir, InstructSetup setup)
    {
        Directory.CreateDirectory(dataDir);
        string testPath = Path.Combine(dataDir, "instruct-test.jsonl");
        var test = InstructionTasks.Generate(setup.TestExamples, noise: 0, seed: 1_000_003);
        if (!File.Exists(testPath)) InstructionTasks.Write(testPath, test);
        var exclude = test.Select(InstructionTasks.Key).ToHashSet();
        var train = new Dictionary<double, string>();
        foreach (double noise in setup.NoiseRates)
        {
            string path = Path.Combine(dataDir, $"instruct-train-{NoiseLabel(noise)}.jsonl");
            if (!File.Exists(path)) InstructionTasks.Write(path, InstructionTasks.Generate(setup.TrainExamples, noise, seed: 17, exclude));
            train[noise] = path;
        }
        return (testPath, train);
    }

    /// <summary>"noise-10" for 0.1: used in folder names and tables.</summary>
    public static string NoiseLabel(double noise) => "noise-" + Math.Round(noise * 100).ToString(CultureInfo.InvariantCulture);
}
