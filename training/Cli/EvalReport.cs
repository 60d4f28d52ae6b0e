using System.Globalization;
using System.Text.Json.Nodes;
using HardFocus.Training.Eval;

namespace HardFocus.Training.Cli;

/// <summary>How `hardfocus eval` words its results: one plain line per result for people, one JSON object for scripts.</summary>
internal sealed class EvalReport
{
    private readonly List<string> _lines = [];

    public JsonObject Json { get; } = new();

    public IReadOnlyList<string> Lines => _lines;

    public void Perplexity(EvalSplit split, int scored, int available, Evaluation result)
    {
        _lines.Add(Invariant($"{EvalSplits.Name(split)} split: {scored} of {available} sequences, {result.Tokens} tokens: loss {result.Loss:F4}, perplexity {result.Perplexity:F2}"));
        Json["split"] = EvalSplits.Name(split);
        Json["sequences"] = scored;
        Json["split_sequences"] = available;
        Json["tokens"] = result.Tokens;
        // The names predate --split and stay as they are, so scripts that read them keep working.
        Json["val_loss"] = Number(result.Loss);
        Json["val_ppl"] = Number(result.Perplexity);
    }

    public void Losses(LossSummary summary)
    {
        var quantiles = string.Join(", ", summary.Quantiles.Select(q => Invariant($"q{q.Q:0.##} {q.Value:F4}")));
        _lines.Add(Invariant($"per-sample loss over {summary.Count} sequences: mean {summary.Mean:F4}, std {summary.Std:F4}; {quantiles}"));
        Json["loss_mean"] = Number(summary.Mean);
        Json["loss_std"] = Number(summary.Std);
        var table = new JsonObject();
        foreach (var (q, value) in summary.Quantiles) table[q.ToString("R", CultureInfo.InvariantCulture)] = Number(value);
        Json["loss_quantiles"] = table;
    }

    public void Histogram(string path)
    {
        _lines.Add($"loss histogram: {path}");
        Json["loss_histogram"] = path;
    }

    /// <summary>A multiple-choice result under <paramref name="name"/> ("cloze", or the scored file for --choices).</summary>
    public void Choices(string name, MultipleChoiceResult result, JsonObject into)
    {
        _lines.Add(Invariant($"{name}: {result.Count} items: acc {result.Acc:F4} ± {result.AccStderr:F4}, acc_norm {result.AccNorm:F4} ± {result.AccNormStderr:F4}"));
        into["items"] = result.Count;
        into["acc"] = Number(result.Acc);
        into["acc_stderr"] = Number(result.AccStderr);
        into["acc_norm"] = Number(result.AccNorm);
        into["acc_norm_stderr"] = Number(result.AccNormStderr);
    }

    /// <summary>JSON has no NaN: an undefined number (a standard error of one item) is written as null.</summary>
    private static JsonNode? Number(double value) => double.IsFinite(value) ? JsonValue.Create(value) : null;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
