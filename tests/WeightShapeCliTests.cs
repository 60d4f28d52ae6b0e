using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;
using HardFocus.Models.Gpt;
using HardFocus.Training;

namespace HardFocus.Tests;

/// <summary>Weights that do not fit the model, as a user meets them through `train --init` and `eval`: one line naming the
/// tensor and both shapes, exit code 2.</summary>
public class WeightShapeCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-shapes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A tiny model's weights with one tensor of the wrong shape, in our layout or in Hugging Face's (whose fused
    /// attention weight of rank 1 used to crash the transpose); returns the file and the error line it must give.</summary>
    private (string File, string Error) MisshapenWeights(bool huggingFace)
    {
        using var model = new GptModel(GptConfig.Tiny(256), new CpuBackend(), seed: 1);
        var tensors = model.StateDict().ToDictionary(kv => kv.Key, kv => (Shape: kv.Value.Shape.ToArray(), Data: kv.Value.ToArray()));
        string error;
        if (huggingFace)
        {
            tensors = HuggingFaceGpt2.FromModel(tensors).ToDictionary(kv => "transformer." + kv.Key, kv => (kv.Value.Shape, kv.Value.Data));
            tensors["transformer.h.0.attn.c_attn.weight"] = ([64], new float[64]);
            error = "error: Tensor 'transformer.h.0.attn.c_attn.weight' has shape [64] in the checkpoint but [64, 192] in the model.";
        }
        else
        {
            tensors["h.0.mlp.c_fc.weight"] = ([64, 64], new float[64 * 64]);
            error = "error: Tensor 'h.0.mlp.c_fc.weight' has shape [64, 64] in the checkpoint but [256, 64] in the model.";
        }
        string dir = Path.Combine(_dir, huggingFace ? "hf" : "ours");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, RunFolder.ConfigFile), model.Config.ToJson());
        string file = Path.Combine(dir, RunFolder.ModelFile);
        Safetensors.Write(file, tensors.Select(kv => new SafetensorsEntry(kv.Key, kv.Value.Shape, kv.Value.Data)).ToList());
        return (file, error);
    }

    [Theory]
    [InlineData(false, "init")]
    [InlineData(false, "eval")]
    [InlineData(true, "init")]
    [InlineData(true, "eval")]
    public void MisshapenTensor_GivesOneLineNamingItAndBothShapes(bool huggingFace, string command)
    {
        var (file, error) = MisshapenWeights(huggingFace);
        var (code, _, err) = command == "eval"
            ? CliTests.Run("eval", "--checkpoint", Path.GetDirectoryName(file)!)
            : CliTests.Run("train", "--model", "tiny", "--tokenizer", "bytes", "--batch-size", "2", "--seq-len", "16",
                "--steps", "1", "--init", file, "--out", Path.Combine(_dir, "from-init"));
        Assert.Equal(2, code);
        Assert.Equal(error, err.Trim()); // the whole of stderr: one line
    }
}
