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

    /// <summary>
    /// table[at[i], :] += rows[i, :] in place, for state kept outside the graph across passes (a decoder's key/value
    /// cache): rows [..., dim] give at.Length rows for table [count, dim]. Rows of the table that hold zeros are thereby
    /// written exactly. An in-place change is invisible to autograd, so nothing is recorded and tensors that take part
    /// in a graph are refused.
    /// </summary>
    public static void AccumulateRows(Tensor table, IndexTensor at, Tensor rows)
    {
        var backend = BackendOf(table, rows);
        if (!ReferenceEquals(at.Backend, backend)) throw new ArgumentException("AccumulateRows: the row indices live on another backend.");
        if (table.Rank != 2 || rows.Shape.Last != table.Shape[1] || rows.Shape.Rows != at.Length)
            throw new ArgumentException($"AccumulateRows: {at.Length} rows of table {table.Shape} cannot take {rows.Shape}.");
        if (table.RequiresGrad || rows.RequiresGrad)
            throw new InvalidOperationException("AccumulateRows writes in place, which autograd cannot follow: run it under GradMode.NoGrad().");
        backend.EmbeddingScatterAccumulate(rows.Buffer, at.Buffer, table.Buffer, at.Length, table.Shape[1]);
    }
}
