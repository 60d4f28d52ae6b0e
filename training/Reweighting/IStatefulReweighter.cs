namespace HardFocus.Training.Reweighting;

/// <summary>
/// A reweighter whose weights depend on the pools it has seen. Its state travels through trainer.json as plain
/// numbers so that a resumed run weights its next pool exactly as the uninterrupted run would have.
/// </summary>
public interface IStatefulReweighter : IReweighter
{
    double[] SaveState();
    /// <summary>Restores what <see cref="SaveState"/> returned; anything else is <see cref="InvalidDataException"/>.</summary>
    void LoadState(double[] state);
}
