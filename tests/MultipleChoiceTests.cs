using System.Text;
using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Models.Gpt;
using HardFocus.Training.Eval;
using HardFocus.Training.Text;

namespace HardFocus.Tests;

public class MultipleChoiceTests : IDisposable
{
    private static readonly ByteTokenizer Bytes = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-choices-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// log P(choice | context) computed the slow, obvious way: one forward over the whole (cut) sequence, log-softmax
    /// by hand in double, summed over the positions that predict the choice's bytes.
    /// </summary>
    private static double HandLogLikelihood(GptModel model, string context, string choice)
    {
        int[] contextIds = context.Length == 0 ? [Bytes.EndOfText] : Bytes.Encode(context);
        int[] choiceIds = Bytes.Encode(choice);
        int[] all = [.. contextIds, .. choiceIds];
        int keep = Math.Min(all.Length, model.Config.ContextLength + 1);
        all = all[^keep..];
        int length = all.Length - 1, vocab = model.Config.VocabSize;

        float[] logits;
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
            logits = model.Forward(IndexTensor.FromArray(all[..length], new Shape(1, length), model.Backend)).ToArray();

        double sum = 0;
        for (int t = length - choiceIds.Length; t < length; t++)
        {
            double max = double.NegativeInfinity;
            for (int v = 0; v < vocab; v++) max = Math.Max(max, logits[t * vocab + v]);
            double z = 0;
            for (int v = 0; v < vocab; v++) z += Math.Exp(logits[t * vocab + v] - max);
            sum += logits[t * vocab + all[t + 1]] - max - Math.Log(z);
        }
        return sum;
    }

    private static int ArgMax(double[] values) => Array.IndexOf(values, values.Max());

    [Fact]
    public void Scores_MatchAHandComputationOnTheTinyModel()
    {
        using var model = new GptModel(GptConfig.Tiny(Bytes.VocabSize), new CpuBackend(), seed: 11);
        ChoiceItem[] items =
        [
            new("Call me Ishmael. Some years ago", [" never mind how long", " a whale", " precisely"], 1),
            new("", [" a", " bb", " ccc"], 2), // an empty context is read as the end-of-text token
            new(string.Concat(Enumerable.Repeat("The sea was calm. ", 8)), [" Then a spout!", " Nothing."], 0), // 144 bytes: the context is cut
            new("Le café", [" crème", " noir"], 0), // bytes, not characters, normalise acc_norm
            new("It was the best of times,", [" it was the worst of times", " it was", " of times"], 0),
        ];

        var scores = ChoiceLikelihoods.Compute(model, Bytes, items, batchSize: 3);
        var hand = items.Select(item => item.Choices.Select(c => HandLogLikelihood(model, item.Context, c)).ToArray()).ToArray();
        for (int i = 0; i < items.Length; i++)
            for (int c = 0; c < items[i].Choices.Count; c++)
                Assert.True(Math.Abs(hand[i][c] - scores[i][c]) < 1e-4 * Math.Max(1, Math.Abs(hand[i][c])), $"item {i} choice {c}: {scores[i][c]} vs {hand[i][c]} by hand");

        int correct = 0, correctNorm = 0;
        for (int i = 0; i < items.Length; i++)
        {
            if (ArgMax(hand[i]) == items[i].Label) correct++;
            var normalised = hand[i].Select((s, c) => s / Encoding.UTF8.GetByteCount(items[i].Choices[c])).ToArray();
            if (ArgMax(normalised) == items[i].Label) correctNorm++;
        }
        var result = MultipleChoice.Score(model, Bytes, items, batchSize: 4);
        Assert.Equal(items.Length, result.Count);
        Assert.Equal(correct / 5.0, result.Acc);
        Assert.Equal(correctNorm / 5.0, result.AccNorm);
        Assert.Equal(Math.Sqrt(result.Acc * (1 - result.Acc) / 4), result.AccStderr, 12);
        Assert.Equal(Math.Sqrt(result.AccNorm * (1 - result.AccNorm) / 4), result.AccNormStderr, 12);

        // Right-padding must not change a sequence's score: one sequence per forward gives the same numbers.
        var unbatched = ChoiceLikelihoods.Compute(model, Bytes, items, batchSize: 1);
        for (int i = 0; i < items.Length; i++)
            for (int c = 0; c < items[i].Choices.Count; c++)
                Assert.Equal(unbatched[i][c], scores[i][c], 4);
        Assert.False(model.Training);
    }

    [Fact]
    public void Summarize_UsesByteLengthForAccNormAndTheFirstOfTiedChoices()
    {
        ChoiceItem[] items =
        [
            new("", ["a", "bbbb"], 1),   // raw: a wins; per byte: -1 vs -0.5, bbbb wins
            new("", ["é", "ee"], 0),     // same bytes (2 each): both metrics pick é
            new("", ["x", "y"], 1),      // a tie goes to the first choice, so both miss
            new("", ["long", "s"], 0),   // raw: s wins; per byte: -0.5 vs -1, long wins
        ];
        double[][] scores = [[-1, -2], [-1, -3], [-2, -2], [-2, -1]];
        var result = MultipleChoice.Summarize(items, scores);
        Assert.Equal(4, result.Count);
        Assert.Equal(0.25, result.Acc);
        Assert.Equal(0.75, result.AccNorm);
        Assert.Equal(Math.Sqrt(0.25 * 0.75 / 3), result.AccStderr, 12);
        Assert.Equal(Math.Sqrt(0.75 * 0.25 / 3), result.AccNormStderr, 12);
        Assert.True(double.IsNaN(MultipleChoice.Summarize(items[..1], scores[..1]).AccStderr)); // undefined for one item
    }

    [Fact]
    public void Encode_CutsTheContextFromTheLeftAndNeverTheChoice()
    {
        var (tokens, choiceTokens) = ChoiceLikelihoods.Encode(Bytes, new string('a', 100) + "XYZ", " bc", contextLength: 64);
        Assert.Equal(65, tokens.Length);
        Assert.Equal(3, choiceTokens);
        Assert.Equal(Bytes.Encode("aaaaXYZ bc"), tokens[^10..]);
        Assert.Equal(Bytes.Encode(" bc"), tokens[^3..]);

        (tokens, choiceTokens) = ChoiceLikelihoods.Encode(Bytes, "", "hi", contextLength: 64);
        Assert.Equal(new int[] { 0, 'h', 'i' }, tokens);
        Assert.Equal(2, choiceTokens);

        Assert.Throws<ArgumentException>(() => ChoiceLikelihoods.Encode(Bytes, "context", new string('z', 65), contextLength: 64));
    }

    [Fact]
    public void File_RoundTripsItems()
    {
        string path = Path.Combine(_dir, "items.jsonl");
        ChoiceItem[] items =
        [
            new("He said \"go\"\nand left.", [" Up", " down \\ out", " ünïcödé → ✓"], 2),
            new("", [" a", " b"], 0),
        ];
        ChoiceFile.Save(path, items);
        var loaded = ChoiceFile.Load(path);
        Assert.Equal(items.Length, loaded.Count);
        for (int i = 0; i < items.Length; i++)
        {
            Assert.Equal(items[i].Context, loaded[i].Context);
            Assert.Equal(items[i].Choices, loaded[i].Choices);
            Assert.Equal(items[i].Label, loaded[i].Label);
        }
        Assert.Equal(2, File.ReadAllLines(path).Length);
        Assert.Single(Directory.GetFiles(_dir)); // no temporary file left behind
    }

    [Theory]
    [InlineData("{\"choices\": [\" a\", \" b\"], \"label\": 0}", "missing string field \"context\"")]
    [InlineData("{\"context\": \"x\", \"label\": 0}", "missing array field \"choices\"")]
    [InlineData("{\"context\": \"x\", \"choices\": [\" a\", \" b\"]}", "missing integer field \"label\"")]
    [InlineData("{\"context\": \"x\", \"choices\": [\" a\", \" b\"], \"label\": 2}", "label 2 is out of range for 2 choices")]
    [InlineData("{\"context\": \"x\", \"choices\": [\" a\", \" b\"], \"label\": -1}", "label -1 is out of range")]
    [InlineData("{\"context\": \"x\", \"choices\": [\" a\"], \"label\": 0}", "needs at least 2 choices, has 1")]
    [InlineData("{\"context\": \"x\", \"choices\": [\" a\", 3], \"label\": 0}", "element 1 is Number")]
    [InlineData("{\"context\": \"x\", \"choices\": \" a b\", \"label\": 0}", "must be an array of strings")]
    [InlineData("{\"context\": \"x\", \"choices\": [\" a\", \" b\"], \"label\": 0.5}", "\"label\" must be an integer")]
    [InlineData("{\"context\": \"x\", \"choices\": [\" a\", \"\"], \"label\": 0}", "choice 1 is empty")]
    [InlineData("{\"context\": \"x\", \"choices\": [\" a\", \" b\"], \"label\": 0", "invalid JSON")]
    public void File_NamesTheLineOfABadItem(string bad, string expected)
    {
        string path = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllText(path, "{\"context\": \"ok\", \"choices\": [\" a\", \" b\"], \"label\": 1}\n\n" + bad + "\n");
        var error = Assert.Throws<InvalidDataException>(() => ChoiceFile.Load(path));
        Assert.StartsWith($"{path}:3: ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void File_WithoutItemsIsAnError()
    {
        string path = Path.Combine(_dir, "empty.jsonl");
        File.WriteAllText(path, "\n  \n");
        Assert.Contains("holds no items", Assert.Throws<InvalidDataException>(() => ChoiceFile.Load(path)).Message);
        Assert.Throws<FileNotFoundException>(() => ChoiceFile.Load(Path.Combine(_dir, "absent.jsonl")));
    }
}
