using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HardFocus.Engine;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;
using HardFocus.Models;
using HardFocus.Models.Gpt;
using HardFocus.Models.Llama;
using HardFocus.Training;
using HardFocus.Training.Cli;
using HardFocus.Training.Data;
using HardFocus.Training.Eval;
using HardFocus.Training.Text;

namespace HardFocus.Tests;

/// <summary>
/// Seeded mutations of valid files, fed to the loaders in process: byte flips, bytes set to values that matter to the
/// format, truncations, deletions, duplications, splices from other valid files, and for JSON, fields deleted, renamed,
/// or given values of another type or at the edge of their range. Every case must end in a valid load or in the
/// loader's own error type with a message naming the file; never another exception, never longer than
/// <see cref="CaseLimit"/>, and never allocating more than a bound proportional to the file. A failure names the kind
/// and the case number, and case i of a kind always mutates the same way, so it reproduces.
/// </summary>
public sealed class FuzzTests : IDisposable
{
    private const int CasesPerKind = 1500;
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(10);

    /// <summary>What a load may allocate: fixed buffers (a 64 KiB file buffer, a pooled 1 MiB conversion chunk, JSON
    /// metadata) plus a multiple of the file's size. A header that claims more data than the file holds cannot fit.</summary>
    private static long AllocationBudget(int fileLength) => (4L << 20) + 64L * fileLength;

    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public enum Kind { SafetensorsOurs, SafetensorsHuggingFace, TrainerJson, ConfigJson, CorpusJsonl, InstructJsonl, ChoicesJsonl }

    /// <summary>A loader under test: its valid inputs, how to load one, and which exceptions are its clean errors.</summary>
    private sealed record Target(string FileName, IReadOnlyList<byte[]> Seeds, Action<string> Load, Func<Exception, bool> IsCleanError, bool IsJson)
    {
        /// <summary>Whether the error is about the file itself and so must name it; a model refusing a well-formed file's
        /// tensors names the tensor instead.</summary>
        public Func<Exception, bool> MustNameFile { get; init; } = _ => true;
    }

    [Theory]
    [InlineData(Kind.SafetensorsOurs)]
    [InlineData(Kind.SafetensorsHuggingFace)]
    [InlineData(Kind.TrainerJson)]
    [InlineData(Kind.ConfigJson)]
    [InlineData(Kind.CorpusJsonl)]
    [InlineData(Kind.InstructJsonl)]
    [InlineData(Kind.ChoicesJsonl)]
    public void MutatedFile_LoadsOrFailsWithOneCleanError(Kind kind)
    {
        var target = TargetFor(kind);
        string path = Path.Combine(_dir, target.FileName);
        // Every seed is valid, and loading each once first keeps one-time costs (JIT, static caches) out of the budget.
        foreach (var seed in target.Seeds)
        {
            File.WriteAllBytes(path, seed);
            target.Load(path);
        }

        var failures = new List<string>();
        int started = -1;
        long startedAt = Stopwatch.GetTimestamp();
        // A dedicated thread, so a case that hangs is reported by the watchdog below instead of hanging the suite, and
        // so the allocation count is this loader's alone.
        var worker = new Thread(() =>
        {
            for (int i = 0; i < CasesPerKind; i++)
            {
                var rng = new Rng(Rng.Mix(((ulong)kind << 32) + (ulong)i));
                byte[] bytes;
                string how;
                try { (bytes, how) = Mutate(target, rng); }
                catch (Exception e)
                {
                    // A bug in the mutator, not in the loader; reported rather than left to kill the test host.
                    failures.Add($"{kind} case {i}: the mutator threw {e}");
                    continue;
                }
                File.WriteAllBytes(path, bytes);
                Volatile.Write(ref startedAt, Stopwatch.GetTimestamp());
                Volatile.Write(ref started, i);
                long before = GC.GetAllocatedBytesForCurrentThread();
                Exception? error = null;
                try { target.Load(path); }
                catch (Exception e) { error = e; }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

                string Case() => $"{kind} case {i} ({how}, {bytes.Length} bytes)";
                if (error != null && !target.IsCleanError(error))
                    failures.Add($"{Case()}: {error.GetType().Name}: {error.Message}\n{error.StackTrace}");
                else if (error != null && target.MustNameFile(error) && !error.Message.Contains(target.FileName, StringComparison.Ordinal))
                    failures.Add($"{Case()}: the message does not name the file: {error.Message}");
                else if (error != null && !ErrorLine.IsUserFacing(error))
                    failures.Add($"{Case()}: {error.GetType().Name} would not be printed as an error line");
                if (allocated > AllocationBudget(bytes.Length))
                    failures.Add($"{Case()}: allocated {allocated} bytes, more than {AllocationBudget(bytes.Length)}");
            }
        }) { IsBackground = true, Name = $"fuzz {kind}" };
        worker.Start();
        while (!worker.Join(TimeSpan.FromMilliseconds(50)))
        {
            var running = Stopwatch.GetElapsedTime(Volatile.Read(ref startedAt));
            if (Volatile.Read(ref started) >= 0 && running > CaseLimit)
                Assert.Fail($"{kind} case {Volatile.Read(ref started)} has run for {running.TotalSeconds:F1} s: a loader hangs.");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {CasesPerKind} cases failed:\n" + string.Join("\n", failures.Take(10)));
    }

    // ---- targets ------------------------------------------------------------------------------------------------

    /// <summary>A GPT small enough that a weights file is a few KiB, so thousands of cases stay fast.</summary>
    private static readonly GptConfig TinyConfig = new() { VocabSize = 16, ContextLength = 8, Layers = 1, Heads = 2, Width = 8 };

    private Target TargetFor(Kind kind) => kind switch
    {
        Kind.SafetensorsOurs => OurSafetensors(),
        Kind.SafetensorsHuggingFace => new("model.safetensors", [HuggingFaceSafetensors()], path => Safetensors.Read(path),
            e => e is SafetensorsFormatException, IsJson: false),
        Kind.TrainerJson => new(RunFolder.TrainerFile, TrainerJsonSeeds(), path => new RunFolder(Path.GetDirectoryName(path)!).LoadTrainerState(),
            e => e is InvalidDataException, IsJson: true),
        Kind.ConfigJson => new("config.json", ConfigSeeds(), path => DecoderConfigs.Load(path), e => e is InvalidDataException, IsJson: true),
        Kind.CorpusJsonl => new("corpus.jsonl", [Utf8(CorpusLines)], path => TextCorpus.LoadDocuments(path), e => e is InvalidDataException, IsJson: true),
        Kind.InstructJsonl => new("instruct.jsonl", [Utf8(InstructLines)],
            path => InstructionData.Load(path, new ByteTokenizer(), 48, 0.25, PaddingSide.Left, PromptTemplate.Compact), e => e is InvalidDataException, IsJson: true),
        Kind.ChoicesJsonl => new("choices.jsonl", [Utf8(ChoiceLines)], path => ChoiceFile.Load(path), e => e is InvalidDataException, IsJson: true),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Our weights file, read and loaded into a model: the format's errors, then the model's (a missing or
    /// misshapen tensor).</summary>
    private Target OurSafetensors()
    {
        var model = new GptModel(TinyConfig, new CpuBackend(), seed: 1);
        var entries = model.StateDict().Select(kv => new SafetensorsEntry(kv.Key, kv.Value.Shape.ToArray(), kv.Value.ToArray())).ToList();
        string seedPath = Path.Combine(_dir, "seed.safetensors");
        Safetensors.Write(seedPath, entries, new Dictionary<string, string> { ["step"] = "3" });
        var seed = File.ReadAllBytes(seedPath);
        return new("model.safetensors", [seed], path =>
        {
            var file = Safetensors.Read(path);
            model.LoadStateDict(file.Entries.ToDictionary(e => e.Name, e => (e.Shape, e.Data)));
        }, e => e is SafetensorsFormatException or InvalidDataException, IsJson: false) { MustNameFile = e => e is SafetensorsFormatException };
    }

    /// <summary>The same model in Hugging Face's GPT-2 layout (fused c_attn, Conv1D weights, attention-mask buffers,
    /// format metadata), its tensors stored round-robin as F32, F16, BF16 and F64 so every conversion path is read.</summary>
    private static byte[] HuggingFaceSafetensors()
    {
        using var model = new GptModel(TinyConfig, new CpuBackend(), seed: 2);
        var tensors = HuggingFaceGpt2.FromModel(model.StateDict().ToDictionary(kv => kv.Key, kv => (kv.Value.Shape.ToArray(), kv.Value.ToArray())));
        int t = TinyConfig.ContextLength;
        tensors["h.0.attn.bias"] = ([1, 1, t, t], Enumerable.Range(0, t * t).Select(i => i % t <= i / t ? 1f : 0f).ToArray());
        string[] dtypes = ["F32", "F16", "BF16", "F64"];
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        var buffer = new MemoryStream();
        int k = 0;
        foreach (var (name, (shape, data)) in tensors)
        {
            string dtype = dtypes[k++ % dtypes.Length];
            long begin = buffer.Length;
            foreach (float x in data)
            {
                switch (dtype)
                {
                    case "F32": buffer.Write(BitConverter.GetBytes(x)); break;
                    case "F16": buffer.Write(BitConverter.GetBytes((Half)x)); break;
                    case "BF16": buffer.Write(BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(x) >> 16))); break;
                    default: buffer.Write(BitConverter.GetBytes((double)x)); break;
                }
            }
            header[name] = new JsonObject
            {
                ["dtype"] = dtype, ["shape"] = new JsonArray([.. shape.Select(d => JsonValue.Create(d))]),
                ["data_offsets"] = new JsonArray(JsonValue.Create(begin), JsonValue.Create(buffer.Length)),
            };
        }
        return SafetensorsBytes.Build(Encoding.UTF8.GetBytes(header.ToJsonString()), buffer.ToArray());
    }

    /// <summary>trainer.json as the trainer writes it (with a stateful reweighter's memory), and as files from before
    /// the newer options were written (no Template, Alpha, Trim, EncodingErrors or ReweighterState).</summary>
    private static IReadOnlyList<byte[]> TrainerJsonSeeds()
    {
        var options = new TrainOptions { Model = "tiny", Corpus = "corpus.txt", Reweight = ReweightMethod.RunningIrdro, Patience = 2, Steps = 10 };
        var current = JsonSerializer.Serialize(new TrainerState(3, new LoaderState(1, 4), options, "cpu", [4, 0.125]), RunFolder.Json);
        var older = JsonNode.Parse(current)!.AsObject();
        older.Remove("ReweighterState");
        foreach (var field in new[] { "Template", "Alpha", "Trim", "EncodingErrors" }) older["Options"]!.AsObject().Remove(field);
        older["Options"]!["Reweight"] = "midrank";
        return [Utf8(current), Utf8(older.ToJsonString())];
    }

    private static IReadOnlyList<byte[]> ConfigSeeds()
    {
        // Hugging Face's GPT-2 config.json carries many fields this model does not use; they must be ignored.
        const string huggingFace = """
            {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1, "bos_token_id": 50256,
             "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "gpt2",
             "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1,
             "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}}, "vocab_size": 50257}
            """;
        return [Utf8(GptConfig.Tiny(256).ToJson()), Utf8(huggingFace), Utf8((LlamaConfig.Small(256) with { ModelType = "qwen2" }).ToJson())];
    }

    private const string CorpusLines = """
        {"text": "Call me Ishmael. Some years ago, never mind how long precisely."}

        {"text": "Tab\tand \"quotes\", \u00e9t\u00e9 and caf\u00e9 \ud83d\udc0b", "source": "moby", "n": 3}
        {"text": "", "id": null}
        {"id": 7, "text": "having little or no money in my purse"}
        """;

    private const string InstructLines = """
        {"instruction": "Reverse the word.", "input": "whale", "output": "elahw"}
        {"instruction": "Upper-case it.", "output": "SEA"}
        {"instruction": "Add the numbers.", "input": null, "output": "12"}
        {"instruction": "Count the letters in the word ishmael.", "input": "", "output": "7"}
        """;

    private const string ChoiceLines = """
        {"context": "Call me", "choices": [" Ishmael.", " Ahab.", " Queequeg."], "label": 0}
        {"context": "The whale is", "choices": [" white", " blue"], "label": 1, "source": "x"}
        {"context": "", "choices": [" a", " b", " c", " d"], "label": 3}
        """;

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    // ---- mutations ----------------------------------------------------------------------------------------------

    /// <summary>One to three stacked mutations of a random seed, and a description of them for failure messages.</summary>
    private static (byte[] Bytes, string How) Mutate(Target target, Rng rng)
    {
        int seedIndex = rng.NextInt(target.Seeds.Count);
        var bytes = target.Seeds[seedIndex];
        var how = new List<string> { $"seed {seedIndex}" };
        int count = 1 + rng.NextInt(3);
        for (int m = 0; m < count; m++)
        {
            int choice = rng.NextInt(10);
            string what;
            try
            {
                (bytes, what) = choice switch
                {
                    < 4 when target.IsJson => MutateJson(bytes, rng, target.FileName.EndsWith(".jsonl", StringComparison.Ordinal)),
                    < 4 when target.FileName.EndsWith(".safetensors", StringComparison.Ordinal) => MutateSafetensorsHeader(bytes, rng),
                    _ => MutateBytes(bytes, target.Seeds[rng.NextInt(target.Seeds.Count)], rng),
                };
            }
            catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or NullReferenceException or FormatException)
            {
                // JsonNode parses lazily: an earlier mutation (a duplicate key, a lone surrogate) can surface only as the
                // structural mutator walks the document. Such input is already broken; change its bytes instead.
                (bytes, what) = MutateBytes(bytes, bytes, rng);
            }
            how.Add(what);
        }
        return (bytes, string.Join(", ", how));
    }

    private static readonly byte[] InterestingBytes =
        [0x00, 0xFF, 0x80, 0xC0, 0xE2, 0xED, 0xF0, 0xFE, (byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',',
         (byte)':', (byte)'-', (byte)'0', (byte)'9', (byte)'e', (byte)'.', (byte)'\n', (byte)' '];

    private static (byte[], string) MutateBytes(byte[] input, byte[] other, Rng rng)
    {
        var b = input.ToList();
        int At(int max) => max <= 0 ? 0 : rng.NextInt(max);
        switch (rng.NextInt(7))
        {
            case 0:
            {
                int flips = 1 + rng.NextInt(4);
                for (int i = 0; i < flips && b.Count > 0; i++) b[At(b.Count)] ^= (byte)(1 << rng.NextInt(8));
                return ([.. b], $"flip {flips} bits");
            }
            case 1:
            {
                int sets = 1 + rng.NextInt(3);
                for (int i = 0; i < sets && b.Count > 0; i++) b[At(b.Count)] = InterestingBytes[rng.NextInt(InterestingBytes.Length)];
                return ([.. b], $"set {sets} bytes");
            }
            case 2:
            {
                int length = At(b.Count);
                return ([.. b.Take(length)], $"truncate to {length}");
            }
            case 3:
            {
                int start = At(b.Count), length = At(Math.Min(64, b.Count - start) + 1);
                b.RemoveRange(start, length);
                return ([.. b], $"delete {length} at {start}");
            }
            case 4:
            {
                int start = At(b.Count), length = At(Math.Min(256, b.Count - start) + 1), into = At(b.Count + 1);
                b.InsertRange(into, b.GetRange(start, length));
                return ([.. b], $"duplicate {length} from {start} at {into}");
            }
            case 5:
            {
                int start = At(other.Length), length = At(Math.Min(256, other.Length - start) + 1), into = At(b.Count + 1);
                b.InsertRange(into, other.AsSpan(start, length).ToArray());
                return ([.. b], $"splice {length} at {into}");
            }
            default:
            {
                int start = At(b.Count), length = Math.Min(1 + rng.NextInt(16), b.Count - start);
                for (int i = 0; i < length; i++) b[start + i] = (byte)rng.NextInt(256);
                return ([.. b], $"randomise {length} at {start}");
            }
        }
    }

    /// <summary>Values of every JSON kind, and numbers at the edges that matter to parsers (32- and 64-bit limits, a
    /// 10 GB offset, overflowing and denormal doubles). Raw text, so values JsonNode cannot hold can be written too.</summary>
    private static readonly string[] RawValues =
    [
        "null", "true", "false", "\"\"", "\"text\"", "\"NaN\"", "\"Infinity\"", "\"\\ud800\"", "\"a\\u0000b\"", "\"line\\nbreak\"",
        "[]", "{}", "[1, 2]", "{\"a\": 1}", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]", "0", "-0", "1", "-1", "0.5", "1e-400", "1e400", "-1e400",
        "2147483647", "2147483648", "-2147483649", "4294967296", "10737418240", "9223372036854775807", "9223372036854775808",
        "18446744073709551616", "1.0", "3.4e38", "3.5e38",
    ];

    private const string RawMarker = "\u0001raw\u0001";

    /// <summary>A structural change to one JSON document (for JSON lines, to one line): a value deleted, replaced by
    /// another kind or an edge value, a number nudged, or a field renamed.</summary>
    private static (byte[], string) MutateJson(byte[] input, Rng rng, bool jsonLines)
    {
        string text = Encoding.UTF8.GetString(input);
        var lines = jsonLines ? text.Split('\n').ToList() : [text];
        int lineIndex = rng.NextInt(lines.Count);
        var root = string.IsNullOrWhiteSpace(lines[lineIndex]) ? null : JsonNode.Parse(lines[lineIndex]);
        if (root == null) return MutateBytes(input, input, rng); // a blank line or null: change bytes instead

        var places = new List<(JsonNode Parent, string? Key, int Index)>();
        Collect(root, places);
        if (places.Count == 0) return MutateBytes(input, input, rng);
        var (parent, key, index) = places[rng.NextInt(places.Count)];
        string where = key ?? $"[{index}]";
        string raw = RawValues[rng.NextInt(RawValues.Length)];
        string what;
        switch (rng.NextInt(4))
        {
            case 0:
                if (parent is JsonObject o) o.Remove(key!);
                else ((JsonArray)parent).RemoveAt(index);
                what = $"delete {where}";
                raw = "";
                break;
            case 1:
                Set(parent, key, index, JsonValue.Create(RawMarker));
                what = $"set {where} to {raw}";
                break;
            case 2 when Get(parent, key, index) is JsonValue v && v.TryGetValue(out double number):
                raw = Nudge(number, rng).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                Set(parent, key, index, JsonValue.Create(RawMarker));
                what = $"nudge {where} to {raw}";
                break;
            default:
                if (parent is JsonObject renamed && key != null)
                {
                    // The new name goes in as raw text, so it can repeat a sibling's name or hold a bad escape.
                    var value = renamed[key];
                    renamed.Remove(key);
                    string[] names = [key.ToUpperInvariant(), key + "x", "", "__metadata__", "\\ud800" + key, key + "\\udc00",
                        renamed.Count > 0 ? renamed.ElementAt(rng.NextInt(renamed.Count)).Key : key];
                    raw = JsonSerializer.Serialize(names[rng.NextInt(names.Length)]).Replace("\\\\u", "\\u");
                    renamed[RawMarker] = value;
                    what = $"rename {where} to {raw}";
                    lines[lineIndex] = root.ToJsonString().Replace(JsonSerializer.Serialize(RawMarker) + ":", raw + ":");
                    return (Encoding.UTF8.GetBytes(string.Join('\n', lines)), jsonLines ? $"line {lineIndex + 1}: {what}" : what);
                }
                else
                {
                    Set(parent, key, index, JsonValue.Create(RawMarker));
                    what = $"set {where} to {raw}";
                }
                raw = "";
                break;
        }
        lines[lineIndex] = root.ToJsonString().Replace(JsonSerializer.Serialize(RawMarker), raw);
        return (Encoding.UTF8.GetBytes(string.Join('\n', lines)), jsonLines ? $"line {lineIndex + 1}: {what}" : what);
    }

    private static double Nudge(double x, Rng rng) => rng.NextInt(6) switch
    {
        0 => x + 1, 1 => x - 1, 2 => -x, 3 => x * 1e6, 4 => x / 3, _ => 0,
    };

    private static void Collect(JsonNode node, List<(JsonNode, string?, int)> places)
    {
        if (node is JsonObject o)
            foreach (var (key, child) in o.ToList())
            {
                places.Add((o, key, -1));
                if (child != null) Collect(child, places);
            }
        else if (node is JsonArray a)
            for (int i = 0; i < a.Count; i++)
            {
                places.Add((a, null, i));
                if (a[i] is { } child) Collect(child, places);
            }
    }

    private static JsonNode? Get(JsonNode parent, string? key, int index) => parent is JsonObject o ? o[key!] : parent[index];

    private static void Set(JsonNode parent, string? key, int index, JsonNode? value)
    {
        if (parent is JsonObject o) o[key!] = value;
        else parent[index] = value;
    }

    /// <summary>Mutates the JSON header of a safetensors file and writes it back with a matching size prefix (or, now
    /// and then, a wrong one), so the mutation reaches the checks behind the header's own syntax: a tensor claiming
    /// 10 GB in a file of a few KiB, offsets that overlap or leave holes, unknown dtypes.</summary>
    private static (byte[], string) MutateSafetensorsHeader(byte[] input, Rng rng)
    {
        if (input.Length < 8) return MutateBytes(input, input, rng);
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(input);
        if (size > (ulong)(input.Length - 8)) return MutateBytes(input, input, rng);
        var header = input.AsSpan(8, (int)size).ToArray();
        var buffer = input.AsSpan(8 + (int)size).ToArray();
        var (mutated, what) = rng.NextInt(4) == 0 ? ClaimHugeTensor(header, rng) : MutateJson(header, rng, jsonLines: false);
        ulong? prefix = rng.NextInt(8) == 0 ? (ulong)mutated.Length + (ulong)(rng.NextInt(16) - 8) : null;
        return (SafetensorsBytes.Build(mutated, buffer, prefix), $"header: {what}{(prefix != null ? $", size prefix {prefix}" : "")}");
    }

    /// <summary>One tensor's shape and offsets rewritten to claim far more data than the file holds.</summary>
    private static (byte[], string) ClaimHugeTensor(byte[] header, Rng rng)
    {
        var root = JsonNode.Parse(header) as JsonObject;
        var names = root?.Where(p => p.Key != "__metadata__" && p.Value is JsonObject).Select(p => p.Key).ToList();
        if (root == null || names is not { Count: > 0 }) return (header, "no tensor to enlarge");
        string name = names[rng.NextInt(names.Count)];
        // From past what an array can hold down to 16 MB: the last would still break the allocation budget if read.
        long[][] shapes = [[2_684_354_560], [65_536, 65_536], [1 << 30, 4], [int.MaxValue], [3, 1 << 29], [4_000_000], [2000, 2000]];
        var shape = shapes[rng.NextInt(shapes.Length)];
        long begin = rng.NextInt(2) == 0 ? 0 : root[name]!["data_offsets"]![0]!.GetValue<long>();
        long end = begin + shape.Aggregate(4L, (a, d) => a * d);
        root[name]!["shape"] = new JsonArray([.. shape.Select(d => JsonValue.Create(d))]);
        root[name]!["data_offsets"] = new JsonArray(JsonValue.Create(begin), JsonValue.Create(end));
        return (Encoding.UTF8.GetBytes(root.ToJsonString()), $"{name} claims [{string.Join(", ", shape)}]");
    }
}
