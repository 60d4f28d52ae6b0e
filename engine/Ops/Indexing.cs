using HardFocus.Engine.Autograd;

namespace HardFocus.Engine;

public static partial class Ops
{
    /// <summary>Rows of <paramref name="table"/> [rows, dim] picked by ids [...]: result [..., dim]. Backward adds the
    /// upstream rows back into the picked rows (repeated ids accumulate).</summary>
    public static Tensor Embedding(Tensor table, IndexTensor ids)
    {
        var backend = table.Backend;
        if (!ReferenceEquals(ids.Backend, backend)) throw new ArgumentException("Embedding: ids live on another backend.");
        if (table.Rank != 2) throw new ArgumentException($"Embedding: table must be [rows, dim], got {table.Shape}.");
        int dim = table.Shape[1];
        var outDims = ids.Shape.ToArray().Append(dim).ToArray();
        var y = Tensor.Empty(new Shape(outDims), backend);
        backend.EmbeddingGather(table.Buffer, ids.Buffer, y.Buffer, ids.Length, dim);
        Node.Record(y, [table], gy =>
        {
            var dTable = ZeroGrad(table);
            backend.EmbeddingScatterAccumulate(gy.Buffer, ids.Buffer, dTable.Buffer, ids.Length, dim);
            table.AccumulateGrad(dTable);
        });
        return y;
    }
}
