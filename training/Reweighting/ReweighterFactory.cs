namespace HardFocus.Training.Reweighting;

public static class ReweighterFactory
{
    public static readonly string[] Names = ["erm", "midrank", "irdro"];

    public static IReweighter Create(string name, double lambda, double fraction, int portion) => name switch
    {
        "erm" => new Erm(),
        "midrank" => new MidRanking(fraction, portion),
        "irdro" => new IrDro(lambda),
        _ => throw new ArgumentException($"Unknown reweighting '{name}': use erm, midrank or irdro."),
    };
}
