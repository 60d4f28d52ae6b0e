using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Engine.Backends.Checks;

/// <summary>
/// Every <see cref="IBackend"/> kernel, each stated once as a call on a <see cref="Side"/>, run on a backend under test and
/// on the SIMD CPU backend with the same random inputs. The xunit suite runs the table on ILGPU's CPU emulator (quick
/// sizes) and `gpu-check` on a real device (full sizes: GPT-2 widths, a 50257-token vocabulary, GEMM sizes no tile
/// divides), so a kernel is verified the same way everywhere it runs.
/// </summary>
public static class KernelChecks
{
    /// <summary>Largest relative error a check accepts (see <see cref="CheckBench.Compare"/> for what "relative" means).</summary>
    public const double Tolerance = 1e-3;

    /// <summary>Runs one check on fresh inputs drawn from <paramref name="rng"/>; never throws. The device's kernels are
    /// called through <paramref name="deviceKernels"/> when given (a wrapper that records which kernels a check runs),
    /// its buffers always come from <paramref name="device"/>.</summary>
    public static KernelCheckOutcome Evaluate(KernelCheck check, IBackend device, Rng rng, double tolerance = Tolerance,
        IBackend? deviceKernels = null)
    {
        using var cpu = new CpuBackend();
        try
        {
            using var bench = new CheckBench(cpu, device, rng) { DeviceKernels = deviceKernels };
            var errors = check.Run(bench).Select(bench.Compare).ToList();
            double abs = errors.Max(e => e.Abs), rel = errors.Max(e => e.Rel);
            if (errors.Any(e => double.IsNaN(e.Rel)))
                return new(false, "NaN or infinity in an output (or an element left unwritten)");
            return new(rel <= tolerance, $"max abs {abs,8:0.0e+0}  max rel {rel,8:0.0e+0}");
        }
        catch (Exception e)
        {
            return new(false, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>The table; <paramref name="quick"/> shrinks every size so the ILGPU CPU emulator gets through in seconds.</summary>
    public static IReadOnlyList<KernelCheck> All(bool quick)
    {
        int Z(int full, int tiny) => quick ? tiny : full;
        var checks = new List<KernelCheck>();
        void Add(string name, Func<CheckBench, Pair<float>[]> run) => checks.Add(new(name, run));

        int m = Z(65, 9), n = Z(129, 17), k = Z(33, 5);
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
            Add($"gemm {(ta ? 'T' : 'N')}{(tb ? 'T' : 'N')} {m}x{n}x{k}", b =>
            {
                var (x, w, c) = (b.Random(m * k), b.Random(k * n), b.Output(m * n));
                b.Run(s => s.B.Gemm(ta, tb, m, n, k, 1f, s[x], 0, s[w], 0, 0f, s[c], 0, 1));
                return [c];
            });

        Add($"linear forward with bias {m}x{n}x{k}", b =>
        {
            var (x, w, bias, y) = (b.Random(m * k), b.Random(n * k), b.Random(n), b.Output(m * n));
            b.Run(s => s.B.LinearForward(s[x], s[w], s[bias], s[y], m, k, n));
            return [y];
        });

        int batch = Z(4, 3), bm = Z(33, 5), bn = Z(65, 7), bk = Z(47, 9);
        Add($"gemm x{batch} {bm}x{bn}x{bk}, stride-0 A then B, beta", b =>
        {
            var (x, w) = (b.Random(batch * bm * bk), b.Random(batch * bk * bn));
            var (c1, c2) = (b.Random(batch * bm * bn), b.Random(batch * bm * bn));
            b.Run(s => s.B.Gemm(false, true, bm, bn, bk, 0.5f, s[x], 0, s[w], bk * bn, 1.5f, s[c1], bm * bn, batch));
            b.Run(s => s.B.Gemm(true, false, bm, bn, bk, -1f, s[x], bm * bk, s[w], 0, -0.5f, s[c2], bm * bn, batch));
            return [c1, c2];
        });

        int rows = Z(64, 5), cols = Z(1000, 33);
        Pair<float> Softmax(CheckBench b)
        {
            var (x, y) = (b.Random(rows * cols, 4f), b.Output(rows * cols));
            b.Run(s => s.B.Softmax(s[x], s[y], rows, cols));
            return y;
        }
        Add($"softmax {rows}x{cols}", b => [Softmax(b)]);
        Add($"softmax backward {rows}x{cols}", b =>
        {
            var y = Softmax(b);
            var (dy, dx) = (b.Random(rows * cols), b.Output(rows * cols));
            b.Run(s => s.B.SoftmaxBackward(s[y], s[dy], s[dx], rows, cols));
            return [dx];
        });

        int tokens = Z(128, 6), width = Z(768, 33);
        (Pair<float> X, Pair<float> Gamma, Pair<float> Y, Pair<float> Mean, Pair<float> Rstd) LayerNorm(CheckBench b)
        {
            // Offset inputs: a mean far from zero is what breaks a one-pass variance.
            var (x, gamma, beta) = (b.Random(tokens * width, 2f, 3f), b.Random(width, 0.1f, 1f), b.Random(width, 0.1f));
            var (y, mean, rstd) = (b.Output(tokens * width), b.Output(tokens), b.Output(tokens));
            b.Run(s => s.B.LayerNorm(s[x], s[gamma], s[beta], s[y], s[mean], s[rstd], tokens, width, 1e-5f));
            return (x, gamma, y, mean, rstd);
        }
        Add($"layernorm {tokens}x{width}", b =>
        {
            var r = LayerNorm(b);
            return [r.Y, r.Mean, r.Rstd];
        });
        Add($"layernorm backward {tokens}x{width} (accumulating)", b =>
        {
            var (x, gamma, _, mean, rstd) = LayerNorm(b);
            var (dy, dx) = (b.Random(tokens * width), b.Output(tokens * width));
            // Non-zero starting gradients: the kernel must add to them.
            var (dGamma, dBeta) = (b.Random(width), b.Random(width));
            b.Run(s => s.B.LayerNormBackward(s[x], s[gamma], s[mean], s[rstd], s[dy], s[dx], s[dGamma], s[dBeta], tokens, width));
            return [dx, dGamma, dBeta];
        });

        int ceRows = Z(64, 7), vocab = Z(50257, 29);
        (Pair<float> Logits, Pair<int> Targets, Pair<float> Mask, Pair<float> Losses, Pair<float> Lse) CrossEntropy(CheckBench b)
        {
            var logits = b.Random(ceRows * vocab, 3f);
            var maskData = b.Mask(ceRows, 0.75f);
            maskData[1] = 0f;
            // Masked rows carry padding targets outside the vocabulary, which the kernels must not touch.
            var targets = b.Same(Enumerable.Range(0, ceRows).Select(r => maskData[r] == 0 ? -1 : b.Rng.NextInt(vocab)).ToArray());
            var (mask, losses, lse) = (b.Same(maskData), b.Output(ceRows), b.Output(ceRows));
            b.Run(s => s.B.CrossEntropy(s[logits], s[targets], s[mask], s[losses], s[lse], ceRows, vocab));
            return (logits, targets, mask, losses, lse);
        }
        Add($"cross-entropy {ceRows}x{vocab}, masked", b =>
        {
            var r = CrossEntropy(b);
            return [r.Losses, r.Lse];
        });
        Add($"cross-entropy backward {ceRows}x{vocab}, masked", b =>
        {
            var (logits, targets, mask, _, lse) = CrossEntropy(b);
            var (dLoss, dLogits) = (b.Random(ceRows), b.Output(ceRows * vocab));
            b.Run(s => s.B.CrossEntropyBackward(s[logits], s[targets], s[mask], s[lse], s[dLoss], s[dLogits], ceRows, vocab));
            return [dLogits];
        });

        int heads = Z(8, 4), seq = Z(129, 19), headDim = Z(64, 8), qkv = heads * seq * headDim;
        float scale = 1f / MathF.Sqrt(headDim);
        // Plain multi-head attention, and grouped-query attention with two query heads per key/value head.
        foreach (int group in new[] { 1, 2 })
        {
            int kv = qkv / group;
            (Pair<float> Q, Pair<float> K, Pair<float> V, Pair<float> O, Pair<float> Lse) Attention(CheckBench b)
            {
                var (q, key, v) = (b.Random(qkv), b.Random(kv), b.Random(kv));
                var (o, lse) = (b.Output(qkv), b.Output(heads * seq));
                b.Run(s => s.B.CausalAttention(s[q], s[key], s[v], s[o], s[lse], heads, group, seq, headDim, scale));
                return (q, key, v, o, lse);
            }
            string shape = $"{heads}x{seq}x{headDim}{(group > 1 ? $", {group} queries per kv head" : "")}";
            Add($"attention {shape}", b =>
            {
                var r = Attention(b);
                return [r.O, r.Lse];
            });
            Add($"attention backward {shape}", b =>
            {
                var (q, key, v, o, lse) = Attention(b);
                var (dOut, dq, dk, dv) = (b.Random(qkv), b.Output(qkv), b.Output(kv), b.Output(kv));
                b.Run(s => s.B.CausalAttentionBackward(s[q], s[key], s[v], s[o], s[lse], s[dOut], s[dq], s[dk], s[dv], heads, group, seq, headDim, scale));
                return [dq, dk, dv];
            });
        }

        (Pair<float> X, Pair<float> Gamma, Pair<float> Y, Pair<float> Rstd) RmsNorm(CheckBench b)
        {
            var (x, gamma) = (b.Random(tokens * width, 2f, 0.5f), b.Random(width, 0.1f, 1f));
            var (y, rstd) = (b.Output(tokens * width), b.Output(tokens));
            b.Run(s => s.B.RmsNorm(s[x], s[gamma], s[y], s[rstd], tokens, width, 1e-6f));
            return (x, gamma, y, rstd);
        }
        Add($"rmsnorm {tokens}x{width}", b =>
        {
            var r = RmsNorm(b);
            return [r.Y, r.Rstd];
        });
        Add($"rmsnorm backward {tokens}x{width} (accumulating)", b =>
        {
            var (x, gamma, _, rstd) = RmsNorm(b);
            var (dy, dx, dGamma) = (b.Random(tokens * width), b.Output(tokens * width), b.Random(width));
            b.Run(s => s.B.RmsNormBackward(s[x], s[gamma], s[rstd], s[dy], s[dx], s[dGamma], tokens, width));
            return [dx, dGamma];
        });

        int ropeRows = heads * seq, half = headDim / 2;
        foreach (float sign in new[] { 1f, -1f })
            Add($"rope {ropeRows}x{headDim}, {(sign > 0 ? "forward" : "backward")}", b =>
            {
                var (cosines, sines) = RotaryTable.Compute(0, seq, headDim, 10000f);
                var (x, cos, sin, y) = (b.Random(ropeRows * headDim), b.Same(cosines), b.Same(sines), b.Output(ropeRows * headDim));
                b.Run(s => s.B.Rope(s[x], s[cos], s[sin], s[y], ropeRows, seq, half, sign));
                return [y];
            });

        int mlp = Z(3072 * 16, 37);
        Add($"swiglu {mlp}", b =>
        {
            var (gate, up, y) = (b.Random(mlp, 3f), b.Random(mlp), b.Output(mlp));
            b.Run(s => s.B.SwiGlu(s[gate], s[up], s[y], mlp));
            return [y];
        });
        Add($"swiglu backward {mlp}", b =>
        {
            var (gate, up, dy, dGate, dUp) = (b.Random(mlp, 3f), b.Random(mlp), b.Random(mlp), b.Output(mlp), b.Output(mlp));
            b.Run(s => s.B.SwiGluBackward(s[gate], s[up], s[dy], s[dGate], s[dUp], mlp));
            return [dGate, dUp];
        });

        // Ids drawn from half the table, so the scatter sees repeated rows.
        int tableRows = Z(1000, 6), dim = Z(768, 13), count = Z(512, 9);
        Add($"embedding gather {count} of {tableRows}x{dim}", b =>
        {
            var (table, ids, y) = (b.Random(tableRows * dim), b.Ids(count, tableRows / 2), b.Output(count * dim));
            b.Run(s => s.B.EmbeddingGather(s[table], s[ids], s[y], count, dim));
            return [y];
        });
        Add($"embedding scatter {count} into {tableRows}x{dim}", b =>
        {
            var (dy, ids, dTable) = (b.Random(count * dim), b.Ids(count, tableRows / 2), b.Random(tableRows * dim));
            b.Run(s => s.B.EmbeddingScatterAccumulate(s[dy], s[ids], s[dTable], count, dim));
            return [dTable];
        });

        var (d0, d1, d2, d3) = quick ? (2, 3, 5, 7) : (4, 129, 12, 64);
        Add($"swap axes 1,2 of {d0}x{d1}x{d2}x{d3}", b =>
        {
            var (x, y) = (b.Random(d0 * d1 * d2 * d3), b.Output(d0 * d1 * d2 * d3));
            b.Run(s => s.B.SwapAxes12(s[x], s[y], d0, d1, d2, d3));
            return [y];
        });

        int mRows = Z(8, 4), mCols = Z(1024, 21);
        Pair<float> MeanMask(CheckBench b)
        {
            var mask = b.Mask(mRows * mCols, 0.6f);
            // One fully masked row, which must give 0 rather than 0/0.
            Array.Clear(mask, mCols, mCols);
            return b.Same(mask);
        }
        Add($"masked mean {mRows}x{mCols}", b =>
        {
            var (x, mask, y) = (b.Random(mRows * mCols), MeanMask(b), b.Output(mRows));
            b.Run(s => s.B.MaskedRowMean(s[x], s[mask], s[y], mRows, mCols));
            return [y];
        });
        Add($"masked mean backward {mRows}x{mCols}", b =>
        {
            var (mask, dy, dx) = (MeanMask(b), b.Random(mRows), b.Output(mRows * mCols));
            b.Run(s => s.B.MaskedRowMeanBackward(s[mask], s[dy], s[dx], mRows, mCols));
            return [dx];
        });

        int sumCount = Z(1_000_003, 2000);
        // A positive mean keeps the total away from zero, so its relative error measures the reduction, not cancellation.
        Add($"sum of {sumCount}", b =>
        {
            var (x, y) = (b.Random(sumCount, 1f, 0.5f), b.Output(1));
            b.Run(s => s.B.Sum(s[x], s[y], sumCount));
            return [y];
        });
        Add($"sum of squares of {sumCount}", b =>
        {
            var (x, y) = (b.Random(sumCount), b.Output(1));
            b.Run(s => s.B.SumOfSquares(s[x], s[y], sumCount));
            return [y];
        });
        int periodRows = Z(512, 7), period = Z(768, 19);
        Add($"sum to period {period} of {periodRows}x{period}", b =>
        {
            var (x, y) = (b.Random(periodRows * period), b.Output(period));
            b.Run(s => s.B.SumToPeriod(s[x], s[y], periodRows * period, period));
            return [y];
        });

        int elements = Z(100_003, 77);
        Add($"gelu {elements}", b =>
        {
            var (x, y) = (b.Random(elements, 3f), b.Output(elements));
            b.Run(s => s.B.Gelu(s[x], s[y], elements));
            return [y];
        });
        Add($"gelu backward {elements}", b =>
        {
            var (x, dy, dx) = (b.Random(elements, 3f), b.Random(elements), b.Output(elements));
            b.Run(s => s.B.GeluBackward(s[x], s[dy], s[dx], elements));
            return [dx];
        });
        Add($"dropout {elements}, p 0.1", b =>
        {
            var (x, y, keep) = (b.Random(elements), b.Output(elements), b.Output(elements));
            b.Run(s => s.B.Dropout(s[x], s[y], s[keep], elements, 0.1f, 12345UL));
            return [y, keep];
        });
        Add($"adamw {elements}, 2 steps", b =>
        {
            var weights = b.Random(elements);
            var moment1 = b.Random(elements, 0.1f);
            var moment2 = b.Same(b.Gaussian(elements).Select(g => 0.1f * g * g).ToArray());
            for (int step = 1; step <= 2; step++)
            {
                var grad = b.Random(elements);
                b.Run(s => s.B.AdamW(s[weights], s[grad], s[moment1], s[moment2], elements, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, step));
            }
            return [weights, moment1, moment2];
        });
        // Three tensors in one flat buffer, decaying or not, and five elements between the first two that no chunk covers.
        int third = elements / 3;
        int[] chunkTable = [0, third, 1, third + 5, third, 0, 2 * third + 5, elements - 2 * third - 5, 1];
        Add($"multi-tensor adamw {elements} in 3 chunks, 2 steps", b =>
        {
            var (weights, moment1, chunks) = (b.Random(elements), b.Random(elements, 0.1f), b.Same(chunkTable));
            var moment2 = b.Same(b.Gaussian(elements).Select(g => 0.1f * g * g).ToArray());
            for (int step = 1; step <= 2; step++)
            {
                var grad = b.Random(elements);
                var adamW = AdamWStep.Create(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, step);
                b.Run(s => s.B.MultiTensorAdamW(s[weights], s[grad], s[moment1], s[moment2], s[chunks], 3, adamW));
            }
            return [weights, moment1, moment2];
        });

        int bRows = Z(65, 5), bCols = Z(129, 33), bCount = bRows * bCols;
        Add($"binary add/sub/mul {bRows}x{bCols}, periods n, 1, {bCols}", b =>
        {
            var x = b.Random(bCount);
            var outputs = new List<Pair<float>>();
            foreach (var op in Enum.GetValues<BinaryOp>())
            foreach (int p in new[] { bCount, 1, bCols })
            {
                var (w, y) = (b.Random(p), b.Output(bCount));
                b.Run(s => s.B.Binary(op, s[x], s[w], s[y], bCount, p));
                outputs.Add(y);
            }
            return [.. outputs];
        });
        Add($"affine {bCount}", b =>
        {
            var (x, y) = (b.Random(bCount), b.Output(bCount));
            b.Run(s => s.B.Affine(s[x], s[y], bCount, -1.5f, 0.25f));
            return [y];
        });
        Add($"axpy {bCount}", b =>
        {
            var (x, y) = (b.Random(bCount), b.Random(bCount));
            b.Run(s => s.B.AxpyAccumulate(0.75f, s[x], s[y], bCount));
            return [y];
        });
        Add($"copy and fill {bCount}", b =>
        {
            var (x, y) = (b.Random(bCount), b.Output(bCount));
            b.Run(s => { s.B.Copy(s[x], s[y], bCount); s.B.Fill(s[y], 2.5f, bCount / 3); });
            return [y];
        });
        return checks;
    }
}

/// <summary>One named kernel check: sets up inputs on a bench, runs the kernel on both sides, returns the outputs to compare.</summary>
public sealed record KernelCheck(string Name, Func<CheckBench, Pair<float>[]> Run)
{
    public override string ToString() => Name;
}

/// <summary>Whether a check passed, and its largest errors or the reason it failed.</summary>
public readonly record struct KernelCheckOutcome(bool Pass, string Detail);
