namespace HardFocus.Engine.Autograd;

/// <summary>Reverse-mode sweep: topological order from the root, then each node's closure in reverse.</summary>
internal static class BackwardPass
{
    public static void Run(Tensor root, Tensor seed)
    {
        if (!root.RequiresGrad) throw new InvalidOperationException("Backward from a tensor that does not require a gradient.");
        if (seed.Shape != root.Shape) throw new ArgumentException($"Seed shape {seed.Shape} differs from the output shape {root.Shape}.");

        var order = TopologicalOrder(root);
        root.AccumulateGrad(seed.CloneUntracked());
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var tensor = order[i];
            var node = tensor.Node!;
            var grad = tensor.Grad;
            if (grad != null) node.Backward(grad);
            // An intermediate's gradient is dead once its node has passed it on: free it now, not at scope end.
            if (!tensor.RetainGrad)
            {
                tensor.Grad = null;
                grad?.Dispose();
            }
            tensor.Node = null;
        }
    }

    /// <summary>Nodes in an order where every tensor comes after the tensors it was computed from.</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor Tensor, bool Expanded)>();
        stack.Push((root, false));
        while (stack.Count > 0)
        {
            var (tensor, expanded) = stack.Pop();
            if (expanded) { order.Add(tensor); continue; }
            if (tensor.Node == null || !visited.Add(tensor)) continue;
            stack.Push((tensor, true));
            foreach (var input in tensor.Node.Inputs)
                if (input.Node != null && !visited.Contains(input)) stack.Push((input, false));
        }
        return order;
    }
}
