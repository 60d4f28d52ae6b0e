using System.CommandLine;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Models;
using HardFocus.Training.Text;

namespace HardFocus.Training.Cli;

/// <summary>`hardfocus export`: a run folder's model as a Hugging Face checkpoint folder (config.json in its keys, weights in
/// its names and layouts, one file or shards with an index), with the run's tokenizer files when it used a folder's.</summary>
public static class ExportCommand
{
    private static readonly OptionBound ShardMegabytes = OptionBound.Integer("--shard-mb", 1, 1_000_000);

    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Run folder holding the model.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder to write: missing or empty.", Required = true };
        var shard = new Option<int?>(ShardMegabytes.Option) { Description = ShardMegabytes.Describe("Split the weights into files of at most this many MB, with model.safetensors.index.json (default: one file).") };
        var command = new Command("export", "Write a run's model as a Hugging Face checkpoint folder that other tools load.") { checkpoint, output, shard };
        command.SetAction(parse =>
        {
            if (parse.GetValue(shard) is int mb) ShardMegabytes.Check(mb);
            string folder = Path.GetFullPath(parse.GetValue(output)!);
            if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
                throw new UserError($"--out {folder} is not empty.");
            using var ckpt = Checkpoint.Load(parse.GetValue(checkpoint)!, CpuBackend.Shared);
            long maxBytes = parse.GetValue(shard) is int m ? m * 1_000_000L : long.MaxValue;
            HuggingFaceCheckpoint.Write(folder, ckpt.Model, maxBytes);
            if (ckpt.Tokenizer is PretrainedTokenizer pretrained) PretrainedTokenizer.CopyFiles(pretrained.Name, folder);
            Console.WriteLine($"wrote {ckpt.Model.Config.ModelType} checkpoint to {folder}");
            return 0;
        });
        return command;
    }
}
