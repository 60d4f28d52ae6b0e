using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Training.Data;
using HardFocus.Training.Text;

namespace HardFocus.Tests;

public class DataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Numbers(int from, int count) => string.Join(' ', Enumerable.Range(from, count));

    // ---- corpus -------------------------------------------------------------------------------------------------

    [Fact]
    public void PlainFileIsOneDocument()
    {
        var path = Write("story.txt", "Call me Ishmael.\nSome years ago.");
        Assert.Equal(["Call me Ishmael.\nSome years ago."], TextCorpus.LoadDocuments(path));
    }

    [Fact]
    public void FolderGivesItsTxtFilesInOrdinalOrder()
    {
        Write("b.txt", "bee");
        Write("a.txt", "ay");
        Write("C.txt", "sea");
        Write("notes.md", "not a document");
        Directory.CreateDirectory(Path.Combine(_dir, "nested"));
        Write(Path.Combine("nested", "0.txt"), "too deep");
        Assert.Equal(["sea", "ay", "bee"], TextCorpus.LoadDocuments(_dir));
    }

    [Fact]
    public void JsonLinesGiveOneDocumentPerNonBlankLine()
    {
        var path = Write("docs.jsonl", "{\"text\": \"first\", \"id\": 1}\n\n  \r\n{\"text\": \"second\\nline\"}\n");
        Assert.Equal(["first", "second\nline"], TextCorpus.LoadDocuments(path));
    }

    [Fact]
    public void BadJsonLinesNameTheFileAndLine()
    {
        var broken = Write("broken.jsonl", "{\"text\": \"ok\"}\n\n{\"text\": \"unterminated}\n");
        var error = Assert.Throws<InvalidDataException>(() => TextCorpus.LoadDocuments(broken));
        Assert.StartsWith($"{broken}:3: invalid JSON", error.Message);

        var untyped = Write("untyped.jsonl", "{\"text\": \"ok\"}\n{\"text\": 7}\n");
        error = Assert.Throws<InvalidDataException>(() => TextCorpus.LoadDocuments(untyped));
        Assert.StartsWith($"{untyped}:2: ", error.Message);
        Assert.Contains("\"text\"", error.Message);

        var missing = Write("missing.jsonl", "{\"body\": \"ok\"}\n");
        error = Assert.Throws<InvalidDataException>(() => TextCorpus.LoadDocuments(missing));
        Assert.StartsWith($"{missing}:1: missing string field \"text\"", error.Message);
    }

    [Fact]
    public void MissingOrEmptyCorpusIsReported()
    {
        var nowhere = Path.Combine(_dir, "nowhere.txt");
        var missing = Assert.Throws<FileNotFoundException>(() => TextCorpus.LoadDocuments(nowhere));
        Assert.Equal(nowhere, missing.FileName);
        Assert.Contains(nowhere, missing.Message);

        Assert.Throws<InvalidDataException>(() => TextCorpus.LoadDocuments(Write("empty.txt", "")));
        var emptyFolder = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        Assert.Throws<InvalidDataException>(() => TextCorpus.LoadDocuments(emptyFolder));
    }

    [Fact]
    public void EmbeddedMobyDickLoads()
    {
        var text = TextCorpus.MobyDick();
        Assert.StartsWith("CHAPTER 1. Loomings.", text);
        Assert.True(text.Length > 1_000_000, $"only {text.Length} characters");
        Assert.Same(text, TextCorpus.MobyDick());
    }

    [Theory]
    [InlineData("sotu", 100, "Gentlemen of the Congress: In pursuance of my constitutional duty")]
    [InlineData("fortunes", 10_000, "7:30, Channel 5: The Bionic Dog")]
    public void EmbeddedCorporaAreManyCleanDocuments(string name, int atLeast, string firstStart)
    {
        var documents = TextCorpus.Embedded(name);
        Assert.True(documents.Count >= atLeast, $"{name}: only {documents.Count} documents");
        Assert.StartsWith(firstStart, documents[0]);
        Assert.Equal(documents.Count, documents.Distinct().Count());
        foreach (var document in documents)
        {
            Assert.NotEqual("", document.Trim());
            Assert.False(document.StartsWith('\n') || document.EndsWith('\n'), $"{name}: a document keeps separator newlines");
            // No separators, overstrikes or bells left, and no fortune-file '%' separator lines.
            Assert.DoesNotContain(document, c => char.IsControl(c) && c != '\n' && c != '\t');
            Assert.DoesNotContain("%", document.Split('\n'));
            Assert.DoesNotContain('\uFFFD', document);
        }
        Assert.Same(documents, TextCorpus.Embedded(name));
    }

    [Fact]
    public void BuiltinNamesResolveToTheEmbeddedCorpora()
    {
        Assert.Equal(["moby-dick", "sotu", "fortunes"], TextCorpus.EmbeddedNames);
        foreach (var name in TextCorpus.EmbeddedNames)
            Assert.Same(TextCorpus.Embedded(name), TextCorpus.LoadDocuments("builtin:" + name));
        Assert.Equal([TextCorpus.MobyDick()], TextCorpus.Embedded("moby-dick"));

        // The prefix keeps a file called "sotu" readable as a file.
        var file = Write("sotu", "my own speech");
        Assert.Equal(["my own speech"], TextCorpus.LoadDocuments(file));
        Assert.Same(TextCorpus.Embedded("sotu"), TextCorpus.LoadDocuments(TextCorpus.BuiltinPrefix + "sotu"));
    }

    [Theory]
    [InlineData("builtin:brown")]
    [InlineData("builtin:")]
    [InlineData("builtin:SOTU")]
    public void UnknownBuiltinNamesListTheKnownOnes(string path)
    {
        var error = Assert.Throws<ArgumentException>(() => TextCorpus.LoadDocuments(path));
        Assert.Contains($"'{path["builtin:".Length..]}'", error.Message);
        Assert.Contains("moby-dick, sotu, fortunes", error.Message);
    }

    [Fact]
    public void FormFeedLinesSeparateEmbeddedDocuments()
    {
        Assert.Equal(["a", "b\n\nc", "\td"], TextCorpus.SplitDocuments("a\n\f\nb\n\nc\n\f\n\f\n\td\n"));
        Assert.Empty(TextCorpus.SplitDocuments("\n\f\n"));
    }

    // ---- language modeling --------------------------------------------------------------------------------------

    [Fact]
    public void WindowsShiftByOneAndOverlapByOneToken()
    {
        // Tokens 1..41 in one stream: 40 targets, so exactly 5 windows of 8.
        var (train, validation) = LanguageModelingData.Build([Numbers(1, 41)], new NumberTokenizer(), seqLen: 8, valFraction: 0);
        Assert.Empty(validation);
        Assert.Equal(5, train.Count);
        for (int w = 0; w < train.Count; w++)
        {
            var s = train[w];
            Assert.Equal(Enumerable.Range(1 + 8 * w, 8), s.Input);
            Assert.Equal(s.Input.Skip(1), s.Target.Take(7));
            Assert.Equal(Enumerable.Repeat(1f, 8), s.Mask);
            if (w > 0) Assert.Equal(train[w - 1].Target[^1], s.Input[0]);
        }
        Assert.Equal(Enumerable.Range(2, 40), train.SelectMany(s => s.Target));
    }

    [Fact]
    public void PartialFinalWindowIsDropped()
    {
        var (train, _) = LanguageModelingData.Build([Numbers(1, 40)], new NumberTokenizer(), seqLen: 8, valFraction: 0);
        Assert.Equal(4, train.Count);
        Assert.Equal(33, train[^1].Target[^1]);
    }

    [Fact]
    public void DocumentsAreJoinedWithEndOfText()
    {
        var tokenizer = new ByteTokenizer();
        var (train, _) = LanguageModelingData.Build(["abc", "de", "fghijkl"], tokenizer, seqLen: 4, valFraction: 0);
        var stream = train.SelectMany(s => s.Input).Append(train[^1].Target[^1]).ToArray();
        Assert.Equal("abc\0de\0fghijkl"[..stream.Length], tokenizer.Decode(stream));
        Assert.Equal(2, stream.Count(id => id == tokenizer.EndOfText));
    }

    [Fact]
    public void ValidationIsTheTailWithAGapWindow()
    {
        // 101 tokens: 25 windows of 4; ceil(0.1 * 25) = 3 validation windows, the window before them is dropped.
        var (train, validation) = LanguageModelingData.Build([Numbers(1, 101)], new NumberTokenizer(), seqLen: 4, valFraction: 0.1);
        Assert.Equal(3, validation.Count);
        Assert.Equal(21, train.Count);
        Assert.Equal(Enumerable.Range(89, 12), validation.SelectMany(s => s.Input));
        Assert.Equal(101, validation[^1].Target[^1]);
        var trainTokens = train.SelectMany(s => s.Input.Concat(s.Target)).ToHashSet();
        var validationTokens = validation.SelectMany(s => s.Input.Concat(s.Target)).ToHashSet();
        Assert.Empty(trainTokens.Intersect(validationTokens));
        Assert.Equal(85, trainTokens.Max());
    }

    [Fact]
    public void TooSmallCorpusSaysHowManyTokensAreNeeded()
    {
        var error = Assert.Throws<InvalidDataException>(() =>
            LanguageModelingData.Build([Numbers(1, 16)], new NumberTokenizer(), seqLen: 8, valFraction: 0));
        Assert.Contains("16 tokens", error.Message);
        Assert.Contains("17", error.Message);

        // Two windows suffice without validation, but not for one validation window, a gap and training.
        Assert.Equal(2, LanguageModelingData.Build([Numbers(1, 17)], new NumberTokenizer(), 8, 0).Train.Count);
        Assert.Throws<InvalidDataException>(() => LanguageModelingData.Build([Numbers(1, 17)], new NumberTokenizer(), 8, 0.1));
    }

    // ---- instruction data ---------------------------------------------------------------------------------------

    private static string Record(string instruction, string output, string? input = null) =>
        System.Text.Json.JsonSerializer.Serialize(input == null
            ? new Dictionary<string, string> { ["instruction"] = instruction, ["output"] = output }
            : new Dictionary<string, string> { ["instruction"] = instruction, ["input"] = input, ["output"] = output });

    private static int PromptBytes(string instruction, string? input = null) =>
        System.Text.Encoding.UTF8.GetByteCount(InstructionData.Prompt(instruction, input, PromptTemplate.Alpaca));

    [Theory]
    [InlineData(PaddingSide.Right)]
    [InlineData(PaddingSide.Left)]
    public void OnlyTheResponseIsLearnedAndPadsAreMasked(PaddingSide side)
    {
        var tokenizer = new ByteTokenizer();
        var path = Write("sft.jsonl", Record("Say hi", "hi") + "\n");
        int prompt = PromptBytes("Say hi"), seqLen = prompt + 10, real = prompt + 2, pad = seqLen - real;
        var set = InstructionData.Load(path, tokenizer, seqLen, 0, side, PromptTemplate.Alpaca);
        var s = Assert.Single(set.Train);
        Assert.Empty(set.Validation);
        Assert.Equal(0, set.Skipped);
        Assert.All(new[] { s.Input.Length, s.Target.Length, s.Mask.Length }, n => Assert.Equal(seqLen, n));

        int offset = side == PaddingSide.Left ? pad : 0;
        var expected = tokenizer.Encode(InstructionData.Prompt("Say hi", null, PromptTemplate.Alpaca) + "hi").Append(tokenizer.EndOfText).ToArray();
        Assert.Equal(expected[..^1], s.Input.Skip(offset).Take(real));
        Assert.Equal(expected[1..], s.Target.Skip(offset).Take(real));
        // Targets before 'h' are prompt tokens; 'h', 'i' and end-of-text are the response.
        Assert.Equal(Enumerable.Repeat(0f, prompt - 1).Concat(Enumerable.Repeat(1f, 3)), s.Mask.Skip(offset).Take(real));
        Assert.Equal([(int)'h', (int)'i', tokenizer.EndOfText], s.Target.Skip(offset + prompt - 1).Take(3));

        var pads = Enumerable.Range(side == PaddingSide.Left ? 0 : real, pad).ToArray();
        Assert.All(pads, t => Assert.Equal((tokenizer.EndOfText, tokenizer.EndOfText, 0f), (s.Input[t], s.Target[t], s.Mask[t])));
        Assert.Equal(3f, s.Mask.Sum());
    }

    [Fact]
    public void InputFieldSelectsTheContextTemplate()
    {
        var tokenizer = new ByteTokenizer();
        var path = Write("sft.jsonl", Record("Translate", "Bonjour", "Hello") + "\n" + Record("Count", "3", "") + "\n");
        var set = InstructionData.Load(path, tokenizer, 400, 0, PaddingSide.Right, PromptTemplate.Alpaca);
        Assert.Equal(2, set.Train.Count);
        var withInput = tokenizer.Decode(set.Train[0].Input.Where(id => id != 0).ToArray());
        Assert.Equal("Below is an instruction that describes a task, paired with an input that provides further context. "
            + "Write a response that appropriately completes the request.\n\n### Instruction:\nTranslate\n\n### Input:\nHello\n\n### Response:\nBonjour", withInput);
        var withoutInput = tokenizer.Decode(set.Train[1].Input.Where(id => id != 0).ToArray());
        Assert.Equal("Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\nCount\n\n### Response:\n3", withoutInput);
        Assert.Equal(PromptBytes("Translate", "Hello") - 1, Array.IndexOf(set.Train[0].Mask, 1f));
    }

    [Fact]
    public void LongExamplesLoseTheirEndAndResponselessOnesAreSkipped()
    {
        var tokenizer = new ByteTokenizer();
        int seqLen = PromptBytes("Say hi") + 1;
        var path = Write("sft.jsonl", string.Join("\n",
            Record("Say hi", "hello there"),      // keeps "he": two response targets, no end-of-text
            Record("Say hi!", "hello"),           // prompt fills the input: one response target
            Record("Say hi!!", "hello"),          // prompt alone needs seqLen + 1 tokens: skipped
            Record("Say hi, at great length", "hello"),
            Record("Say hi", "yo")));
        var set = InstructionData.Load(path, tokenizer, seqLen, 0.25, PaddingSide.Left, PromptTemplate.Alpaca);
        Assert.Equal(2, set.Skipped);
        Assert.Equal(2, set.Train.Count);
        var validation = Assert.Single(set.Validation);

        var cut = set.Train[0];
        Assert.Equal(2f, cut.Mask.Sum());
        Assert.Equal([(int)'h', (int)'e'], cut.Target[^2..]);
        Assert.DoesNotContain(tokenizer.EndOfText, cut.Input);

        var full = set.Train[1];
        Assert.Equal(1f, full.Mask.Sum());
        Assert.Equal(1f, full.Mask[^1]);
        Assert.Equal((int)'h', full.Target[^1]);

        Assert.Equal([(int)'y', (int)'o'], validation.Target[^2..]);
    }

    [Fact]
    public void CompactTemplateFitsAShortContextWhereAlpacaDoesNot()
    {
        var tokenizer = new ByteTokenizer();
        var path = Write("sft.jsonl", Record("Say hi", "hi") + "\n" + Record("Add", "5", "2 3") + "\n");
        const int seqLen = 32;
        // Alpaca's preamble alone is longer than 32 byte tokens: no example keeps a response token.
        var alpaca = Assert.Throws<InvalidDataException>(() => InstructionData.Load(path, tokenizer, seqLen, 0, PaddingSide.Right, PromptTemplate.Alpaca));
        Assert.Contains("no usable examples", alpaca.Message);

        var set = InstructionData.Load(path, tokenizer, seqLen, 0, PaddingSide.Right, PromptTemplate.Compact);
        Assert.Equal(0, set.Skipped);
        Assert.Equal(2, set.Train.Count);
        string[] prompts = ["Q: Say hi\nA: ", "Q: Add\n2 3\nA: "];
        string[] responses = ["hi", "5"];
        for (int i = 0; i < 2; i++)
        {
            var s = set.Train[i];
            int real = prompts[i].Length + responses[i].Length; // byte tokens: one per ASCII character, then end-of-text
            Assert.Equal(prompts[i] + responses[i], tokenizer.Decode(s.Input[..real]));
            Assert.Equal(tokenizer.EndOfText, s.Target[real - 1]);
            // The whole response and its end-of-text are learned; nothing of the prompt is.
            Assert.Equal(responses[i].Length + 1, s.Mask.Sum());
            Assert.Equal(prompts[i].Length - 1, Array.IndexOf(s.Mask, 1f));
        }
    }

    [Fact]
    public void BadInstructionLinesNameTheFileAndLine()
    {
        var tokenizer = new ByteTokenizer();
        var missing = Write("missing.jsonl", Record("a", "b") + "\n\n{\"instruction\": \"a\"}\n");
        var error = Assert.Throws<InvalidDataException>(() => InstructionData.Load(missing, tokenizer, 64, 0, PaddingSide.Left, PromptTemplate.Alpaca));
        Assert.StartsWith($"{missing}:3: missing string field \"output\"", error.Message);

        var array = Write("array.jsonl", "[1, 2]\n");
        error = Assert.Throws<InvalidDataException>(() => InstructionData.Load(array, tokenizer, 64, 0, PaddingSide.Left, PromptTemplate.Alpaca));
        Assert.StartsWith($"{array}:1: expected a JSON object", error.Message);

        var untyped = Write("untyped.jsonl", "{\"instruction\": \"a\", \"input\": 5, \"output\": \"b\"}\n");
        error = Assert.Throws<InvalidDataException>(() => InstructionData.Load(untyped, tokenizer, 64, 0, PaddingSide.Left, PromptTemplate.Alpaca));
        Assert.StartsWith($"{untyped}:1: field \"input\" must be a string", error.Message);
    }

    // ---- batches ------------------------------------------------------------------------------------------------

    private static Sample[] Numbered(int count) =>
        Enumerable.Range(0, count).Select(i => new Sample([i, i], [i + 1, i + 1], [1f, 0f])).ToArray();

    private static List<int> Draw(BatchLoader loader, int batches) =>
        Enumerable.Range(0, batches).SelectMany(_ => loader.Next()).Select(s => s.Input[0]).ToList();

    [Fact]
    public void SameSeedSameOrderDifferentSeedDifferentOrder()
    {
        var samples = Numbered(20);
        var a = Draw(new BatchLoader(samples, 4, seed: 7), 15);
        Assert.Equal(a, Draw(new BatchLoader(samples, 4, seed: 7), 15));
        Assert.NotEqual(a, Draw(new BatchLoader(samples, 4, seed: 8), 15));
        Assert.NotEqual(a.Take(20), Enumerable.Range(0, 20));
        Assert.NotEqual(a.Take(20), a.Skip(20).Take(20));
    }

    [Fact]
    public void EverySampleOncePerEpochAndTheRemainderIsSkipped()
    {
        var loader = new BatchLoader(Numbered(10), 3, seed: 1);
        Assert.Equal(3, loader.BatchesPerEpoch);
        for (int epoch = 0; epoch < 4; epoch++)
        {
            var seen = Draw(loader, 3);
            Assert.Equal(9, seen.Distinct().Count());
            Assert.Equal(new LoaderState(epoch, 9), loader.State);
        }
        loader.Next();
        Assert.Equal(new LoaderState(4, 3), loader.State);
    }

    [Fact]
    public void StateRoundTripResumesTheIdenticalStream()
    {
        var samples = Numbered(11);
        var original = new BatchLoader(samples, 2, seed: 42);
        Draw(original, 7);
        var saved = original.State;
        var expected = Draw(original, 20);

        var resumed = new BatchLoader(samples, 2, seed: 42) { State = saved };
        Assert.Equal(expected, Draw(resumed, 20));
        Assert.Equal(original.State, resumed.State);
    }

    [Fact]
    public void LoaderRejectsBatchesLargerThanTheData()
    {
        var error = Assert.Throws<ArgumentException>(() => new BatchLoader(Numbered(5), 6, seed: 0));
        Assert.Contains("6", error.Message);
        Assert.Contains("5", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchLoader(Numbered(5), 2, 0) { State = new LoaderState(0, 6) });
    }

    [Fact]
    public void BatchTensorsHaveBatchByTimeShapeAndTheSampleValues()
    {
        var batch = new[] { new Sample([1, 2, 3], [2, 3, 4], [0f, 1f, 1f]), new Sample([7, 8, 9], [8, 9, 0], [1f, 1f, 0f]) };
        using var scope = TensorScope.Begin();
        var (ids, targets, mask) = BatchTensors.Create(batch, 10, CpuBackend.Shared);
        Assert.Equal(new Shape(2, 3), ids.Shape);
        Assert.Equal(new Shape(2, 3), targets.Shape);
        Assert.Equal(new Shape(2, 3), mask.Shape);
        Assert.Same(CpuBackend.Shared, ids.Backend);
        Assert.Equal([1, 2, 3, 7, 8, 9], ids.ToArray());
        Assert.Equal([2, 3, 4, 8, 9, 0], targets.ToArray());
        Assert.Equal([0f, 1f, 1f, 1f, 1f, 0f], mask.ToArray());

        var ragged = batch.Append(new Sample([1], [2], [1f])).ToArray();
        Assert.Throws<ArgumentException>(() => BatchTensors.Create(ragged, 10, CpuBackend.Shared));
    }
}
