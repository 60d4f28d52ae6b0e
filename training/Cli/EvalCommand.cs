using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using HardFocus.Training.Data;

namespace HardFocus.Training.Cli;

public static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Run folder to evaluate.", Required = true };
        var corpus = new Option<string?>("--corpus") { Description = "Evaluate on all of this text instead of the run's validation split." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };
        var device = new Option<string>("--device") { Description = $"Where to run: {string.Join(", ", Devices.Names)}.", DefaultValueFactory = _ => "auto" };
        var command = new Command("eval", "Validation loss and perplexity of a trained model.") { checkpoint, corpus, json, device };
        command.SetAction(parse =>
        {
            using var ckpt = Checkpoint.Load(parse.GetValue(checkpoint)!, Devices.Resolve(parse.GetValue(device)!));
            var options = ckpt.Options ?? new TrainOptions { Tokenizer = ckpt.Tokenizer.Name, SeqLen = Math.Min(128, ckpt.Model.Config.ContextLength) };
            string? path = parse.GetValue(corpus);
            IReadOnlyList<Sample> samples;
            if (path != null)
                samples = LanguageModelingData.Build(TextCorpus.LoadDocuments(path), ckpt.Tokenizer, options.SeqLen, 0).Train;
            else if (options.Instruct != null)
                samples = InstructionData.Load(options.Instruct, ckpt.Tokenizer, options.SeqLen, options.ValFraction, options.Padding, options.Template).Validation;
            else
                samples = LanguageModelingData.Build(options.Corpus != null ? TextCorpus.LoadDocuments(options.Corpus) : [TextCorpus.MobyDick()],
                    ckpt.Tokenizer, options.SeqLen, options.ValFraction).Validation;
            if (samples.Count == 0) throw new UserError("There is nothing to evaluate: the split is empty.");

            var result = Evaluator.Evaluate(ckpt.Model, samples, options.BatchSize);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{samples.Count} sequences, {result.Tokens} tokens: loss {result.Loss:F4}, perplexity {result.Perplexity:F2}"));
            if (parse.GetValue(json))
                Console.WriteLine(new JsonObject { ["val_loss"] = result.Loss, ["val_ppl"] = result.Perplexity, ["tokens"] = result.Tokens, ["sequences"] = samples.Count }.ToJsonString());
            return 0;
        });
        return command;
    }
}
