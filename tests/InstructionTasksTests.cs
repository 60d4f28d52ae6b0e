using System.Globalization;
using HardFocus.Training.Data;

namespace HardFocus.Tests;

public class InstructionTasksTests
{
    /// <summary>The correct answer, recomputed here from the question alone.</summary>
    private static string Solve(InstructionExample e) => e.Task switch
    {
        "reverse" => new string(e.Input.Reverse().ToArray()),
        "sort" => new string(e.Input.OrderBy(c => c).ToArray()),
        "upper" => e.Input.ToUpperInvariant(),
        "count" => e.Input.Count(c => c == e.Instruction[^1]).ToString(CultureInfo.InvariantCulture),
        "add" => e.Input.Split('+').Sum(int.Parse).ToString(CultureInfo.InvariantCulture),
        _ => throw new ArgumentException(e.Task),
    };

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.3)]
    [InlineData(1.0)]
    public void NoiseRate_IsExactlyTheSetting(double noise)
    {
        var examples = InstructionTasks.Generate(1000, noise, seed: 5);
        Assert.Equal((int)Math.Round(noise * 1000), examples.Count(e => e.Output != Solve(e)));
        Assert.All(examples, e => Assert.Equal(Solve(e), e.Answer));
        Assert.All(examples.Where(e => e.Corrupted), e => Assert.NotEqual(e.Answer, e.Output));
    }

    [Fact]
    public void CorruptedWords_KeepTheirLengthAndKind()
    {
        foreach (var e in InstructionTasks.Generate(500, 1.0, seed: 9).Where(e => e.Task is "reverse" or "sort" or "upper"))
        {
            Assert.Equal(e.Answer.Length, e.Output.Length);
            Assert.Equal(e.Task == "upper", e.Output.All(char.IsUpper));
        }
    }

    [Fact]
    public void Examples_AreDistinct_EveryTaskAppears_AndExcludedKeysNeverReturn()
    {
        var test = InstructionTasks.Generate(200, 0, seed: 1);
        var keys = test.Select(InstructionTasks.Key).ToHashSet();
        var train = InstructionTasks.Generate(2000, 0.1, seed: 2, keys);
        Assert.Equal(2000, train.Select(InstructionTasks.Key).Distinct().Count());
        Assert.DoesNotContain(train, e => keys.Contains(InstructionTasks.Key(e)));
        Assert.Equal(InstructionTasks.Names.Order(), train.Select(e => e.Task).Distinct().Order());
    }

    [Fact]
    public void SameSeed_SameExamples_AndNoiseOnlyChangesAnswers()
    {
        var clean = InstructionTasks.Generate(300, 0, seed: 4);
        var noisy = InstructionTasks.Generate(300, 0.3, seed: 4);
        Assert.Equal(clean, InstructionTasks.Generate(300, 0, seed: 4));
        Assert.Equal(clean.Select(InstructionTasks.Key), noisy.Select(InstructionTasks.Key));
    }

    [Fact]
    public void Write_ProducesInstructData_ThatTheCompactTemplateFitsIn32Tokens()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("hardfocus-tasks-").FullName, "tasks.jsonl");
        var examples = InstructionTasks.Generate(100, 0.1, seed: 3);
        InstructionTasks.Write(path, examples);
        var set = InstructionData.Load(path, new HardFocus.Training.Text.ByteTokenizer(), 32, 0, PaddingSide.Left, PromptTemplate.Compact);
        Assert.Equal(100, set.Train.Count);
        Assert.Equal(0, set.Skipped);
        // The loss covers the response and its end-of-text token, nothing of the prompt.
        for (int i = 0; i < examples.Count; i++)
            Assert.Equal(examples[i].Output.Length + 1, (int)set.Train[i].Mask.Sum());
    }
}
