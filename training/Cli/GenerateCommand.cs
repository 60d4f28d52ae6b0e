using System.CommandLine;

namespace HardFocus.Training.Cli;

public static class GenerateCommand
{
    // Each token costs one cached position, and every half window past the model's context one pass over half a window,
    // so the token count is what bounds the time.
    private static readonly OptionBound MaxTokens = OptionBound.Integer("--max-tokens", 1, 16_384);
    private static readonly OptionBound Temperature = OptionBound.Real("--temperature", 0, 100);
    private static readonly OptionBound TopK = OptionBound.Integer("--top-k", 0, 1_000_000);

    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Run folder holding the model.", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "Text to continue.", Required = true };
        var tokens = new Option<int>(MaxTokens.Option) { Description = MaxTokens.Describe("Tokens to generate at most; they are printed as they come."), DefaultValueFactory = _ => 200 };
        var temperature = new Option<float>(Temperature.Option) { Description = Temperature.Describe("Sampling temperature (0 = greedy)."), DefaultValueFactory = _ => 0.8f };
        var topK = new Option<int>(TopK.Option) { Description = TopK.Describe("Sample among the k most likely tokens (0 = all)."), DefaultValueFactory = _ => 40 };
        var seed = new Option<ulong>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 1UL };
        var device = new Option<string>("--device") { Description = $"Where to run: {string.Join(", ", Devices.Names)}.", DefaultValueFactory = _ => "auto" };
        var tf32 = Devices.Tf32Option();
        var command = new Command("generate", "Continue a prompt with a trained model.") { checkpoint, prompt, tokens, temperature, topK, seed, device, tf32 };
        command.SetAction(parse =>
        {
            int max = parse.GetValue(tokens);
            float t = parse.GetValue(temperature);
            int k = parse.GetValue(topK);
            MaxTokens.Check(max);
            Temperature.Check(t);
            TopK.Check(k);
            using var ckpt = Checkpoint.Load(parse.GetValue(checkpoint)!, Devices.Resolve(parse.GetValue(device)!, tf32: parse.GetValue(tf32)));
            string text = parse.GetValue(prompt)!;
            Console.Write(text);
            Console.Out.Flush();
            // Each piece as soon as it decodes, so a long generation shows its progress.
            Generator.Generate(ckpt.Model, ckpt.Tokenizer, text, max, t, k, parse.GetValue(seed), piece =>
            {
                Console.Write(piece);
                Console.Out.Flush();
            });
            Console.WriteLine();
            return 0;
        });
        return command;
    }
}
