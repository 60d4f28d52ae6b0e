using System.CommandLine;

namespace HardFocus.Training.Cli;

public static class GenerateCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Run folder holding the model.", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "Text to continue.", Required = true };
        var tokens = new Option<int>("--max-tokens") { Description = "Tokens to generate at most.", DefaultValueFactory = _ => 200 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature (0 = greedy).", DefaultValueFactory = _ => 0.8f };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0 = all).", DefaultValueFactory = _ => 40 };
        var seed = new Option<ulong>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 1UL };
        var device = new Option<string>("--device") { Description = $"Where to run: {string.Join(", ", Devices.Names)}.", DefaultValueFactory = _ => "auto" };
        var command = new Command("generate", "Continue a prompt with a trained model.") { checkpoint, prompt, tokens, temperature, topK, seed, device };
        command.SetAction(parse =>
        {
            int max = parse.GetValue(tokens);
            if (max <= 0) throw new UserError($"--max-tokens must be positive, got {max}.");
            using var ckpt = Checkpoint.Load(parse.GetValue(checkpoint)!, Devices.Resolve(parse.GetValue(device)!));
            string text = parse.GetValue(prompt)!;
            Console.WriteLine(text + Generator.Generate(ckpt.Model, ckpt.Tokenizer, text, max, parse.GetValue(temperature), parse.GetValue(topK), parse.GetValue(seed)));
            return 0;
        });
        return command;
    }
}
