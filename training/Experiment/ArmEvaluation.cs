using HardFocus.Models;
using HardFocus.Training.Data;
using HardFocus.Training.Eval;
using HardFocus.Training.Text;

namespace HardFocus.Training.Experiment;

/// <summary>How one setting's arms are scored: metric name to value, every metric finite or NaN.</summary>
public interface IArmEvaluation
{
    Dictionary<string, double> Evaluate(DecoderModel model);
}

/// <summary>
/// The continual setting's downstream suite, built once and applied to every arm and base: perplexity on A's held-out
/// split and on out-of-domain corpora, and a multiple-choice cloze task cut from A's held-out text.
/// </summary>
public sealed class ContinualEvaluation : IArmEvaluation
{
    private readonly ContinualSetup _setup;
    private readonly ITokenizer _tokenizer;
    private readonly IReadOnlyList<Sample> _heldOut;
    private readonly (string Name, IReadOnlyList<Sample> Windows)[] _outOfDomain;
    private readonly IReadOnlyList<ChoiceItem> _cloze;

    public ContinualEvaluation(ExperimentPlan plan, ContinualSetup setup, ITokenizer tokenizer)
    {
        _setup = setup;
        _tokenizer = tokenizer;
        var (_, stream) = ExperimentData.ContinualCorpora(plan.DataDir, setup);
        (StreamTrain, _heldOut) = LanguageModelingData.Build(TextCorpus.LoadDocuments(stream), tokenizer, setup.SeqLen, setup.HeldOutShare);
        _outOfDomain = setup.OutOfDomain
            .Select(corpus => (ExperimentPreset.CorpusLabel(corpus),
                EvalSplits.Spread(LanguageModelingData.Build(TextCorpus.LoadDocuments(corpus), tokenizer, setup.SeqLen, 0).Train, setup.OutOfDomainWindows)))
            .ToArray();

        // Written once, so later invocations and other tools score exactly the same items.
        string clozePath = Path.Combine(plan.DataDir, "cloze.jsonl");
        if (!File.Exists(clozePath))
        {
            string text = HeldOutText.FromWindows(_heldOut, tokenizer);
            ChoiceFile.Save(clozePath, ClozeTask.Generate(text, setup.ClozeItems, setup.ClozeContextChars, setup.ClozeContinuationChars, choices: 4, seed: 7));
        }
        _cloze = ChoiceFile.Load(clozePath);
    }

    /// <summary>The continual stream's training windows, in order: what the base model's loss histogram is drawn on.</summary>
    public IReadOnlyList<Sample> StreamTrain { get; }

    public static IReadOnlyList<string> MetricNames(ContinualSetup setup) =>
        ["a_ppl", .. setup.OutOfDomain.Select(c => $"ood_{ExperimentPreset.CorpusLabel(c)}_ppl"), "cloze_acc", "cloze_acc_norm"];

    public Dictionary<string, double> Evaluate(DecoderModel model)
    {
        var metrics = new Dictionary<string, double> { ["a_ppl"] = Evaluator.Evaluate(model, _heldOut, _setup.BatchSize).Perplexity };
        foreach (var (name, windows) in _outOfDomain)
            metrics[$"ood_{name}_ppl"] = Evaluator.Evaluate(model, windows, _setup.BatchSize).Perplexity;
        var cloze = MultipleChoice.Score(model, _tokenizer, _cloze);
        metrics["cloze_acc"] = cloze.Acc;
        metrics["cloze_acc_norm"] = cloze.AccNorm;
        return metrics;
    }
}

/// <summary>The instruction setting's score: exact match of greedy decoding on the clean test set, overall and per task,
/// and the test set's response loss.</summary>
public sealed class InstructEvaluation : IArmEvaluation
{
    private readonly IReadOnlyList<Sample> _test;
    private readonly string[] _tasks;
    private readonly int _batchSize;

    public InstructEvaluation(ExperimentPlan plan, InstructSetup setup, ITokenizer tokenizer)
    {
        var (testPath, _) = ExperimentData.InstructionSets(plan.DataDir, setup);
        _tasks = JsonLine.Read(testPath).Select(line => line.RequiredString("task")).ToArray();
        _test = InstructionData.Load(testPath, tokenizer, setup.SeqLen, valFraction: 0, PaddingSide.Left, PromptTemplate.Compact).Train;
        if (_test.Count != _tasks.Length)
            throw new InvalidDataException($"{testPath}: {_tasks.Length - _test.Count} test examples do not fit in {setup.SeqLen} tokens.");
        _batchSize = setup.BatchSize;
    }

    public static IReadOnlyList<string> MetricNames() => ["exact_match", .. InstructionTasks.Names.Select(t => $"em_{t}"), "test_loss"];

    public Dictionary<string, double> Evaluate(DecoderModel model)
    {
        var correct = ExactMatch.Score(model, _test, _batchSize);
        var metrics = new Dictionary<string, double> { ["exact_match"] = correct.Average(c => c ? 1.0 : 0.0) };
        foreach (string task in InstructionTasks.Names)
        {
            var mine = Enumerable.Range(0, _tasks.Length).Where(i => _tasks[i] == task).ToArray();
            metrics[$"em_{task}"] = mine.Length == 0 ? double.NaN : mine.Average(i => correct[i] ? 1.0 : 0.0);
        }
        metrics["test_loss"] = Evaluator.Evaluate(model, _test, _batchSize).Loss;
        return metrics;
    }
}
