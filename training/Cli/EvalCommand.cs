using System.CommandLine;
using System.Text.Json.Nodes;
using HardFocus.Training.Data;
using HardFocus.Training.Eval;
using HardFocus.Training.Plots;

namespace HardFocus.Training.Cli;

public static class EvalCommand
{
    // Each range is named in --help; together they keep an evaluation's work and memory finite.
    private static readonly OptionBound MaxSequences = OptionBound.Integer("--max-sequences", 1, 1_000_000);
    private static readonly OptionBound Cloze = OptionBound.Integer("--cloze", 1, 100_000);
    private static readonly OptionBound ClozeContext = OptionBound.Integer("--cloze-context", 1, 100_000);
    private static readonly OptionBound ClozeLength = OptionBound.Integer("--cloze-length", 1, 10_000);
    private static readonly OptionBound ClozeChoices = OptionBound.Integer("--cloze-choices", 2, 100);

    private static Option<int> Counted(OptionBound bound, string description, int defaultValue) =>
        new(bound.Option) { Description = bound.Describe(description), DefaultValueFactory = _ => defaultValue };

    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Run folder to evaluate.", Required = true };
        var corpus = new Option<string?>("--corpus") { Description = "Evaluate on this text (a .txt file, a folder of .txt files, or .jsonl with a \"text\" field) instead of the run's own data." };
        var split = new Option<string>("--split") { Description = "val: the held-out tail, cut as training cuts it with the run's validation fraction; all: every window, trained-on text included.", DefaultValueFactory = _ => "val" };
        var maxSequences = Counted(MaxSequences, "Score at most this many sequences, evenly spaced over the split.", 256);
        var quantiles = new Option<bool>("--quantiles") { Description = "Also report the spread of per-sample losses: mean, std and quantiles from 0.01 to 0.99." };
        var cloze = new Option<int?>(Cloze.Option) { Description = Cloze.Describe("Also build N cloze items (which continuation follows the passage?) from the split's text and score them.") };
        var clozeContext = Counted(ClozeContext, "Characters of passage before each cloze cut.", 200);
        var clozeLength = Counted(ClozeLength, "Characters of each cloze continuation, extended to the end of a word.", 30);
        var clozeChoices = Counted(ClozeChoices, "Choices per cloze item, the true continuation among them.", 4);
        var seed = new Option<ulong>("--seed") { Description = "Seed for the cloze passages, distractors and answer positions.", DefaultValueFactory = _ => 1UL };
        var writeItems = new Option<string?>("--write-items") { Description = "Write the cloze items to this .jsonl file, so other models can be scored on the same set with --choices." };
        var choices = new Option<string?>("--choices") { Description = "Score the multiple-choice items of this .jsonl file ({\"context\", \"choices\", \"label\"} per line) and nothing else." };
        var histogram = new Option<string?>("--loss-histogram") { Description = "Also draw the per-sample losses of the scored sequences as a histogram into this .png file." };
        var encodingErrors = new Option<string>("--encoding-errors")
        {
            Description = "What --corpus does with bytes that are not UTF-8: strict refuses the file, naming the byte; replace reads them as U+FFFD. " +
                "The run's own data is read as it was in training.",
            HelpName = string.Join('|', OptionNames.Names<EncodingErrors>()), DefaultValueFactory = _ => OptionNames.Of(EncodingErrors.Strict),
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };
        var device = new Option<string>("--device") { Description = $"Where to run: {string.Join(", ", Devices.Names)}.", DefaultValueFactory = _ => "auto" };
        var tf32 = Devices.Tf32Option();
        var command = new Command("eval", "Perplexity, per-sample loss spread and multiple-choice accuracy of a trained model.")
        {
            checkpoint, corpus, encodingErrors, split, maxSequences, quantiles, histogram, cloze, clozeContext, clozeLength, clozeChoices, seed, writeItems, choices, json,
            device, tf32,
        };
        command.SetAction(parse =>
        {
            string? choicesPath = parse.GetValue(choices);
            Option[] corpusOnly = [corpus, encodingErrors, split, maxSequences, quantiles, histogram, cloze, clozeContext, clozeLength, clozeChoices, seed, writeItems];
            if (choicesPath != null && corpusOnly.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } clash)
                throw new UserError($"--choices scores a file on its own; {clash.Name} does not apply to it.");
            // Parsed here rather than with AcceptOnlyFromAmong, whose message spans several lines.
            var evalSplit = EvalSplits.Parse(parse.GetValue(split)!);
            var errors = OptionNames.Parse<EncodingErrors>(parse.GetValue(encodingErrors)!, encodingErrors.Name);
            int? clozeCount = parse.GetValue(cloze);
            foreach (var (bound, option) in new[] { (MaxSequences, maxSequences), (ClozeContext, clozeContext), (ClozeLength, clozeLength), (ClozeChoices, clozeChoices) })
                bound.Check(parse.GetValue(option));
            if (clozeCount is int n) Cloze.Check(n);
            Require(parse.GetValue(writeItems) == null || clozeCount != null, "--write-items writes the cloze items, so it needs --cloze N.");
            Require(parse.GetResult(encodingErrors) is not { Implicit: false } || parse.GetValue(corpus) != null,
                "--encoding-errors applies to --corpus; the run's own data is read as it was in training.");

            using var ckpt = Checkpoint.Load(parse.GetValue(checkpoint)!, Devices.Resolve(parse.GetValue(device)!, tf32: parse.GetValue(tf32)));
            var options = ckpt.Options ?? new TrainOptions { Tokenizer = ckpt.Tokenizer.Name, SeqLen = Math.Min(128, ckpt.Model.Config.ContextLength) };
            var report = new EvalReport();
            if (choicesPath != null)
            {
                var items = ChoiceFile.Load(choicesPath);
                report.Choices(choicesPath, MultipleChoice.Score(ckpt.Model, ckpt.Tokenizer, items, options.BatchSize), report.Json);
            }
            else
            {
                string? path = parse.GetValue(corpus);
                if (clozeCount != null && path == null && options.Instruct != null)
                    throw new UserError("--cloze cuts passages from plain text; for an instruction-tuned run give the text with --corpus.");
                var windows = Windows(ckpt, options, path, errors, evalSplit);

                var scored = EvalSplits.Spread(windows, parse.GetValue(maxSequences));
                var losses = LossDistribution.PerSampleLosses(ckpt.Model, scored, options.BatchSize);
                report.Perplexity(evalSplit, scored.Count, windows.Count, Perplexity.FromLosses(scored, losses));
                if (parse.GetValue(quantiles)) report.Losses(LossDistribution.Summarize(losses));
                if (parse.GetValue(histogram) is { } png)
                {
                    Charts.LossHistogram(png, $"Per-sample loss of {Path.GetFileName(Path.TrimEndingDirectorySeparator(parse.GetValue(checkpoint)!))} " +
                        $"({EvalSplits.Name(evalSplit)} split, {scored.Count} sequences)", losses);
                    report.Histogram(png);
                }

                if (clozeCount is int count)
                {
                    // Cloze passages come from the whole split, not the capped selection: the cap is only about forward passes.
                    var items = ClozeTask.Generate(HeldOutText.FromWindows(windows, ckpt.Tokenizer), count,
                        parse.GetValue(clozeContext), parse.GetValue(clozeLength), parse.GetValue(clozeChoices), parse.GetValue(seed));
                    if (parse.GetValue(writeItems) is { } itemsPath) ChoiceFile.Save(itemsPath, items);
                    var clozeJson = new JsonObject();
                    report.Choices("cloze", MultipleChoice.Score(ckpt.Model, ckpt.Tokenizer, items, options.BatchSize), clozeJson);
                    report.Json["cloze"] = clozeJson;
                }
            }
            foreach (var line in report.Lines) Console.WriteLine(line);
            if (parse.GetValue(json)) Console.WriteLine(report.Json.ToJsonString());
            return 0;
        });
        return command;
    }

    /// <summary>The split of --corpus, else of the data the run trained on (its instruction file, corpus, or Moby-Dick).</summary>
    private static IReadOnlyList<Sample> Windows(Checkpoint ckpt, TrainOptions options, string? corpus, EncodingErrors errors, EvalSplit split)
    {
        IReadOnlyList<Sample> windows;
        if (corpus != null)
            windows = EvalSplits.LanguageModeling(TextCorpus.LoadDocuments(corpus, errors), ckpt.Tokenizer, options.SeqLen, options.ValFraction, split);
        else if (options.Instruct != null)
            windows = EvalSplits.Instruction(options.Instruct, ckpt.Tokenizer, options.SeqLen, options.ValFraction, options.Padding, options.Template, split, options.EncodingErrors);
        else
            windows = EvalSplits.LanguageModeling(options.Corpus != null ? TextCorpus.LoadDocuments(options.Corpus, options.EncodingErrors) : [TextCorpus.MobyDick()],
                ckpt.Tokenizer, options.SeqLen, options.ValFraction, split);
        if (windows.Count == 0)
            throw new UserError($"There is nothing to evaluate: the {EvalSplits.Name(split)} split is empty (a validation fraction of {options.ValFraction} holds nothing out; try --split all).");
        return windows;
    }

    private static void Require(bool ok, string message)
    {
        if (!ok) throw new UserError(message);
    }
}
