using System.Buffers.Binary;
using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;
using HardFocus.Models.Gpt;
using HardFocus.Training;
using HardFocus.Training.Cli;
using HardFocus.Training.Data;
using HardFocus.Training.Eval;
using HardFocus.Training.Text;

namespace HardFocus.Tests;

/// <summary>Option ranges, strict reading of corpora, trainer.json and config.json, one-line errors, and the loader
/// bugs the fuzzer found, checked in process.</summary>
public sealed class LoaderValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-loaders-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    // ---- option ranges ------------------------------------------------------------------------------------------

    public static TheoryData<string> Commands => new() { "train", "eval", "generate", "experiment" };

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryNumericOption_StatesItsRangeInHelp(string name)
    {
        var command = name switch
        {
            "train" => TrainCommand.Create(), "eval" => EvalCommand.Create(), "generate" => GenerateCommand.Create(), _ => ExperimentCommand.Create(),
        };
        Type[] numeric = [typeof(int), typeof(int?), typeof(long), typeof(float), typeof(double)];
        var numericOptions = command.Options.Where(o => numeric.Contains(o.ValueType)).ToList();
        Assert.NotEmpty(numericOptions);
        // --seed is a ulong: every value of its type is a valid seed.
        foreach (var option in numericOptions)
            Assert.True(option.Description?.Contains(" Range: ", StringComparison.Ordinal) == true, $"{name} {option.Name} has no range in its help: {option.Description}");
    }

    [Fact]
    public void TrainHelp_ShowsEachBoundTheValidationChecks()
    {
        var help = TrainCommand.Create().Options.ToDictionary(o => o.Name, o => o.Description);
        foreach (var bound in TrainOptions.Bounds.All)
            Assert.EndsWith($" Range: {bound.Text}.", help[bound.Option]);
        Assert.Equal("1 to 4096", TrainOptions.Bounds.Patience.Text);
        Assert.Equal("[0, 1)", TrainOptions.Bounds.Dropout.Text);
    }

    [Fact]
    public void Defaults_AreWithinEveryBound() => new TrainOptions().Validate();

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(-1.0)]
    public void RealBounds_RefuseNaNInfinityAndNegatives(double value)
    {
        foreach (var bound in TrainOptions.Bounds.All.Where(b => !b.IsInteger))
            Assert.False(bound.Allows(value), $"{bound.Option} allows {value}");
    }

    [Fact]
    public void StoredOptions_NameTheFileAndField()
    {
        var e = Assert.Throws<InvalidDataException>(() => new TrainOptions { EvalBatches = 0 }.ValidateStored("run/trainer.json"));
        Assert.Equal("run/trainer.json: Options.EvalBatches must be from 1 to 100000, got 0.", e.Message);
        e = Assert.Throws<InvalidDataException>(() => new TrainOptions { Corpus = "a.txt", Instruct = "b.jsonl" }.ValidateStored("t.json"));
        Assert.Equal("t.json: Both Options.Corpus and Options.Instruct are given; use one.", e.Message);
    }

    // ---- trainer.json -------------------------------------------------------------------------------------------

    private TrainerState RoundTrip(string json)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "run"));
        File.WriteAllText(Path.Combine(_dir, "run", RunFolder.TrainerFile), json);
        return new RunFolder(Path.Combine(_dir, "run")).LoadTrainerState();
    }

    [Fact]
    public void TrainerJson_RecordsEncodingErrors_AndAFileFromBeforeTheOptionReadsAsReplace()
    {
        var state = new TrainerState(1, new LoaderState(0, 2), new TrainOptions { Model = "tiny" }, "cpu");
        var json = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(state, RunFolder.Json))!.AsObject();
        Assert.Equal("strict", json["Options"]!["EncodingErrors"]!.GetValue<string>());
        Assert.Equal(EncodingErrors.Strict, RoundTrip(json.ToJsonString()).Options.EncodingErrors);

        // The code that wrote such a file decoded bad bytes as U+FFFD; a resumed run must see the same tokens.
        json["Options"]!.AsObject().Remove("EncodingErrors");
        Assert.Equal(EncodingErrors.Replace, RoundTrip(json.ToJsonString()).Options.EncodingErrors);
    }

    [Theory]
    [InlineData("""{"Step": 1, "Loader": {"Epoch": 0, "Position": 2}, "Backend": "cpu"}""", "trainer.json: Options is missing.")]
    [InlineData("[1]", "trainer.json: the file must be a JSON object (TrainerState)")]
    [InlineData("{", "trainer.json: Expected depth to be zero")]
    [InlineData("null", "trainer.json: holds null, not a trainer state.")]
    public void TrainerJson_BrokenAtTheTop_IsOneLine(string json, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => RoundTrip(json));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    // ---- config.json --------------------------------------------------------------------------------------------

    private const string HuggingFaceConfig = """
        {"model_type": "gpt2", "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1, "layer_norm_epsilon": 1e-05,
         "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1, "vocab_size": 50257}
        """;

    [Fact]
    public void ConfigJson_FromHuggingFace_LoadsIgnoringOtherFields_AndOursRoundTrips()
    {
        var config = GptConfig.Load(Write("hf.json", HuggingFaceConfig));
        Assert.Equal(GptConfig.Gpt2() with { Dropout = 0.1f }, config);
        var small = GptConfig.Small(256) with { Dropout = 0.1f };
        Assert.Equal(small, GptConfig.Load(Write("ours.json", small.ToJson())));
    }

    [Theory]
    [InlineData("\"n_layer\": 12,", "", "n_layer is missing.")]
    [InlineData("\"n_layer\": 12", "\"n_layer\": \"12\"", "n_layer must be an integer, got \"12\".")]
    [InlineData("\"n_layer\": 12", "\"n_layer\": 1.5", "n_layer must be an integer, got 1.5.")]
    [InlineData("\"n_layer\": 12", "\"n_layer\": 0", "n_layer must be from 1 to 1024, got 0.")]
    [InlineData("\"n_head\": 12", "\"n_head\": 7", "n_embd 768 is not divisible by n_head 7.")]
    [InlineData("\"vocab_size\": 50257", "\"vocab_size\": 2000000", "vocab_size must be from 1 to 1000000, got 2000000.")]
    [InlineData("\"n_embd\": 768", "\"n_embd\": 32760", "the model's largest tensor would hold 4292870400 values")]
    [InlineData("\"resid_pdrop\": 0.1", "\"resid_pdrop\": \"NaN\"", "resid_pdrop must be a number, got \"NaN\".")]
    [InlineData("\"resid_pdrop\": 0.1", "\"resid_pdrop\": 1", "resid_pdrop must be in [0, 1), got 1.")]
    [InlineData("\"layer_norm_epsilon\": 1e-05", "\"layer_norm_epsilon\": 0", "layer_norm_epsilon must be in (0, 1], got 0.")]
    public void ConfigJson_BadField_IsOneLineNamingFileAndField(string from, string to, string expected)
    {
        Assert.Contains(from, HuggingFaceConfig);
        string path = Write("config.json", HuggingFaceConfig.Replace(from, to));
        var e = Assert.Throws<InvalidDataException>(() => GptConfig.Load(path));
        Assert.StartsWith($"Model config {path}: {expected}", e.Message);
    }

    // ---- UTF-8 --------------------------------------------------------------------------------------------------

    [Fact]
    public void Utf8_FirstInvalidByte_IsExactAcrossReadBlocks()
    {
        // A three-byte character straddles the scanner's 64 KiB block boundary, then a lone continuation byte follows.
        var bytes = new List<byte>(Enumerable.Repeat((byte)'a', 65_535));
        bytes.AddRange("\u20ac"u8.ToArray());
        bytes.AddRange("line\n\n"u8.ToArray());
        bytes.Add(0x80);
        string path = Write("straddle.txt", [.. bytes]);
        Assert.Equal((65_535 + 3 + 6L, 3L), Utf8Text.FirstInvalidByte(path));
        Assert.Equal((-1L, 1L), Utf8Text.FirstInvalidByte(Write("good.txt", "caf\u00e9 \U0001F40B")));
        // A character cut off by the end of the file is invalid too.
        Assert.Equal((3L, 1L), Utf8Text.FirstInvalidByte(Write("cut.txt", [.. "abc"u8, 0xE2, 0x82])));
        var e = Assert.Throws<InvalidDataException>(() => TextCorpus.LoadDocuments(path));
        Assert.Equal($"{path}:3: not valid UTF-8 at byte 65544; give --encoding-errors replace to read bad bytes as U+FFFD.", e.Message);
    }

    [Fact]
    public void Utf8_ByteOrderMark_IsSkippedInBothModes_AndUtf16IsNamed()
    {
        string bom = Write("bom.txt", [0xEF, 0xBB, 0xBF, .. "Call me Ishmael."u8]);
        Assert.Equal(["Call me Ishmael."], TextCorpus.LoadDocuments(bom));
        Assert.Equal(TextCorpus.LoadDocuments(bom), TextCorpus.LoadDocuments(bom, EncodingErrors.Replace));

        string utf16 = Write("utf16.txt", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes("Call me Ishmael.")]);
        var e = Assert.Throws<InvalidDataException>(() => TextCorpus.LoadDocuments(utf16));
        Assert.Contains("at byte 0 (it starts with a UTF-16 byte order mark; save it as UTF-8)", e.Message);
        Assert.Equal(["Call me Ishmael."], TextCorpus.LoadDocuments(utf16, EncodingErrors.Replace));
    }

    [Fact]
    public void Utf8_Replace_ReadsBadBytesAsReplacementCharacters_InEveryForm()
    {
        string text = Write("latin1.txt", [.. "caf"u8, 0xE9]);
        Assert.Equal(["caf\uFFFD"], TextCorpus.LoadDocuments(text, EncodingErrors.Replace));
        string jsonl = Write("docs.jsonl", [.. "{\"text\": \"caf"u8, 0xE9, .. "\"}"u8]);
        Assert.Equal(["caf\uFFFD"], TextCorpus.LoadDocuments(jsonl, EncodingErrors.Replace));
        Assert.Throws<InvalidDataException>(() => TextCorpus.LoadDocuments(jsonl));
        // A multiple-choice file has no --encoding-errors, so its error does not suggest one.
        string choices = Write("choices.jsonl", [.. "{\"context\": \"caf"u8, 0xE9, .. "\", \"choices\": [\" a\", \" b\"], \"label\": 0}"u8]);
        var e = Assert.Throws<InvalidDataException>(() => ChoiceFile.Load(choices));
        Assert.Equal($"{choices}:1: not valid UTF-8 at byte 16.", e.Message);
    }

    // ---- one-line errors ----------------------------------------------------------------------------------------

    [Fact]
    public void ErrorLine_DropsWhatDotNetAddsForProgrammers_AndKeepsOneLine()
    {
        var outOfRange = new ArgumentOutOfRangeException("value", 12, "The position must lie in [0, 4].");
        Assert.Contains('\n', outOfRange.Message);
        Assert.Equal("The position must lie in [0, 4].", ErrorLine.Of(outOfRange));
        Assert.Equal("Batch is empty.", ErrorLine.Of(new ArgumentException("Batch is empty.", "batch")));
        Assert.Equal("count must be positive.", ErrorLine.Of(new AggregateException(new AggregateException(new InvalidDataException("count must be positive.")))));
        Assert.Equal("tensor 'a\\nb' is odd", ErrorLine.Of(new InvalidDataException("tensor 'a\nb' is odd")));

        Assert.True(ErrorLine.IsUserFacing(new AggregateException(new InvalidDataException("x"))));
        Assert.False(ErrorLine.IsUserFacing(new AggregateException(new NullReferenceException())));
        Assert.False(ErrorLine.IsUserFacing(new AggregateException(new InvalidDataException("x"), new InvalidDataException("y"))));
        Assert.False(ErrorLine.IsUserFacing(new IndexOutOfRangeException()));
    }

    // ---- generation ---------------------------------------------------------------------------------------------

    [Fact]
    public void Generate_StreamsPiecesThatJoinToTheResult_AndRefusesANaNTemperature()
    {
        using var model = new GptModel(GptConfig.Tiny(256), new CpuBackend(), seed: 5);
        var pieces = new List<string>();
        string text = Generator.Generate(model, new ByteTokenizer(), "Call me", 24, 1.5f, 0, seed: 3, pieces.Add);
        Assert.True(pieces.Count > 1, "the text came in one piece");
        Assert.Equal(text, string.Concat(pieces));
        Assert.Throws<ArgumentException>(() => Generator.Generate(model, new ByteTokenizer(), "x", 1, float.NaN, 0, seed: 1));
    }

    // ---- bugs the fuzzer found ----------------------------------------------------------------------------------

    private static byte[] SafetensorsWithHeader(string header, int dataBytes)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        return file;
    }

    [Theory]
    [InlineData("""{"a\ud800": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", 4)]
    [InlineData("""{"a": {"dtype": "\ud800", "shape": [1], "data_offsets": [0, 4]}}""", 4)]
    [InlineData("""{"__metadata__": {"k": "\udc00"}}""", 0)]
    [InlineData("""{"__metadata__": {"\udc00": "v"}}""", 0)]
    public void Safetensors_UnpairedSurrogateEscapeInHeader_IsAFormatError(string header, int dataBytes)
    {
        string path = Write("surrogate.safetensors", SafetensorsWithHeader(header, dataBytes));
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Read(path));
        Assert.Contains("unpaired surrogate escape", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [InlineData("{\"text\": \"a\\ud800\"}")]
    [InlineData("{\"te\\udc00xt\": \"a\"}")]
    [InlineData("{\"text\": \"a\", \"other\": [\"\\ud800\"]}")]
    public void JsonLines_UnpairedSurrogateEscape_IsOneLineNamingFileAndLine(string line)
    {
        string path = Write("docs.jsonl", "{\"text\": \"fine\"}\n" + line + "\n");
        var e = Assert.Throws<InvalidDataException>(() => TextCorpus.LoadDocuments(path));
        Assert.StartsWith($"{path}:2: a name or string holds an unpaired surrogate escape", e.Message);
    }

    [Fact]
    public void ConfigJson_UnpairedSurrogateEscape_IsOneLine()
    {
        string path = Write("config.json", HuggingFaceConfig.Replace("\"n_ctx\"", "\"n_\\ud800ctx\""));
        var e = Assert.Throws<InvalidDataException>(() => GptConfig.Load(path));
        Assert.Equal($"Model config {path}: {JsonText.Problem}", e.Message);
    }
}
