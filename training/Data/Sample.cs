namespace HardFocus.Training.Data;

/// <summary>
/// One training sequence: the model reads <see cref="Input"/> and is scored on predicting <see cref="Target"/>
/// wherever <see cref="Mask"/> is 1 (padding and prompts are 0). All three have the same length.
/// </summary>
public sealed record Sample(int[] Input, int[] Target, float[] Mask);
