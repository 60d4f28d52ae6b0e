namespace HardFocus.Engine.Autograd;

/// <summary>
/// The record an op leaves on its output: the inputs it read and the closure that turns the output's gradient into
/// contributions to the inputs' gradients (through <see cref="Tensor.AccumulateGrad"/>).
/// </summary>
internal sealed class Node(Tensor[] inputs, Action<Tensor> backward)
{
    public Tensor[] Inputs { get; } = inputs;
    public Action<Tensor> Backward { get; } = backward;

    /// <summary>Attaches a node to <paramref name="output"/> when grad mode is on and some input needs a gradient.</summary>
    public static void Record(Tensor output, Tensor[] inputs, Action<Tensor> backward)
    {
        if (!GradMode.IsEnabled) return;
        bool any = false;
        foreach (var input in inputs) any |= input.RequiresGrad;
        if (!any) return;
        output.RequiresGrad = true;
        output.Node = new Node(inputs, backward);
    }
}
