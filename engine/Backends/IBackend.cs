namespace HardFocus.Engine.Backends;

/// <summary>Element-wise binary operation; the right operand repeats with a period (trailing-dimension broadcasting).</summary>
public enum BinaryOp { Add, Subtract, Multiply }

/// <summary>
/// The whole kernel surface of the engine. Ops are written once against this interface; a backend only knows how to
/// run each kernel fast on its hardware and never knows about autograd. Every size is in elements; matrices are
/// row-major and contiguous. Kernels write their outputs completely unless the name says Accumulate.
/// </summary>
public interface IBackend : IDisposable
{
    string Name { get; }

    /// <summary>Pool counters: how many buffers were freshly allocated, rented, and recycled.</summary>
    BufferPoolStats PoolStats { get; }

    // ---- memory -------------------------------------------------------------------------------------------------
    /// <summary>Rents a buffer of exactly <paramref name="length"/> elements from the pool; contents are undefined.</summary>
    DeviceBuffer<T> Allocate<T>(int length) where T : unmanaged;
    /// <summary>Takes back a buffer whose last reference was released.</summary>
    void Recycle<T>(DeviceBuffer<T> buffer) where T : unmanaged;
    /// <summary>Frees every pooled buffer not in use (for instance after changing batch shapes).</summary>
    void TrimPool();
    void Upload<T>(ReadOnlySpan<T> source, DeviceBuffer<T> destination) where T : unmanaged;
    void Download<T>(DeviceBuffer<T> source, Span<T> destination) where T : unmanaged;
    void Fill(DeviceBuffer<float> destination, float value, int count);
    void Copy(DeviceBuffer<float> source, DeviceBuffer<float> destination, int count);

    // ---- element-wise -------------------------------------------------------------------------------------------
    /// <summary>y[i] = a[i] op b[i % period].</summary>
    void Binary(BinaryOp op, DeviceBuffer<float> a, DeviceBuffer<float> b, DeviceBuffer<float> y, int count, int period);
    /// <summary>y[i] = scale * x[i] + shift.</summary>
    void Affine(DeviceBuffer<float> x, DeviceBuffer<float> y, int count, float scale, float shift);
    /// <summary>y[i] += alpha * x[i].</summary>
    void AxpyAccumulate(float alpha, DeviceBuffer<float> x, DeviceBuffer<float> y, int count);
    /// <summary>y[j] = sum over i with i % period == j of x[i] (the backward of trailing broadcasting).</summary>
    void SumToPeriod(DeviceBuffer<float> x, DeviceBuffer<float> y, int count, int period);
    /// <summary>y[0] = sum of x (accumulated in double on hosts that can).</summary>
    void Sum(DeviceBuffer<float> x, DeviceBuffer<float> y, int count);
    /// <summary>y[0] = sum of x[i]² (accumulated in double on hosts that can): a squared L2 norm in one pass.</summary>
    void SumOfSquares(DeviceBuffer<float> x, DeviceBuffer<float> y, int count);
    /// <summary>GPT-2's tanh approximation of GELU.</summary>
    void Gelu(DeviceBuffer<float> x, DeviceBuffer<float> y, int count);
    void GeluBackward(DeviceBuffer<float> x, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int count);
    /// <summary>Inverted dropout with a counter-based hash, so every backend draws the same mask from the same seed:
    /// keep[i] = 1/(1-p) or 0, y = x * keep.</summary>
    void Dropout(DeviceBuffer<float> x, DeviceBuffer<float> y, DeviceBuffer<float> keep, int count, float p, ulong seed);
    /// <summary>LLaMA's gated MLP activation: y[i] = silu(gate[i]) * up[i], silu(g) = g * sigmoid(g).</summary>
    void SwiGlu(DeviceBuffer<float> gate, DeviceBuffer<float> up, DeviceBuffer<float> y, int count);
    void SwiGluBackward(DeviceBuffer<float> gate, DeviceBuffer<float> up, DeviceBuffer<float> dy, DeviceBuffer<float> dGate,
        DeviceBuffer<float> dUp, int count);
    /// <summary>Rotary position embedding in Hugging Face's rotate-half layout: x is rows of headDim = 2 * half values, row r
    /// at position r % seq; for i &lt; half, (x[i], x[i + half]) turns by the angle whose cosine and sine are
    /// cos[pos, i] and sin[pos, i]. <paramref name="sinSign"/> -1 turns back by the same angle: that is the backward.</summary>
    void Rope(DeviceBuffer<float> x, DeviceBuffer<float> cos, DeviceBuffer<float> sin, DeviceBuffer<float> y,
        int rows, int seq, int half, float sinSign);

    // ---- matrix products ----------------------------------------------------------------------------------------
    /// <summary>C = alpha * op(A) op(B) + beta * C for <paramref name="batch"/> problems; op(A) is m x k, op(B) is k x n.
    /// A stride of 0 shares that operand across the batch. beta == 0 never reads C.</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        DeviceBuffer<float> a, long strideA, DeviceBuffer<float> b, long strideB,
        float beta, DeviceBuffer<float> c, long strideC, int batch);

    /// <summary>y = x wᵀ + bias with the bias added to every row: a Linear layer's forward (x is rows x inFeatures,
    /// weight outFeatures x inFeatures). By default the GEMM and then the broadcast add; a backend may add the bias in
    /// the product's own store instead of a second pass over y, rounding as the separate add does.</summary>
    void LinearForward(DeviceBuffer<float> x, DeviceBuffer<float> weight, DeviceBuffer<float> bias, DeviceBuffer<float> y,
        int rows, int inFeatures, int outFeatures)
    {
        Gemm(false, true, rows, outFeatures, inFeatures, 1f, x, 0, weight, 0, 0f, y, 0, 1);
        Binary(BinaryOp.Add, y, bias, y, rows * outFeatures, outFeatures);
    }

    // ---- fused row kernels --------------------------------------------------------------------------------------
    void Softmax(DeviceBuffer<float> x, DeviceBuffer<float> y, int rows, int cols);
    void SoftmaxBackward(DeviceBuffer<float> y, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int rows, int cols);
    /// <summary>y = (x - mean) * rstd * gamma + beta per row, saving mean and rstd (one per row) for backward.</summary>
    void LayerNorm(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> beta, DeviceBuffer<float> y,
        DeviceBuffer<float> mean, DeviceBuffer<float> rstd, int rows, int cols, float epsilon);
    /// <summary>Writes dx; adds into dGamma and dBeta (which the caller zeroes or keeps).</summary>
    void LayerNormBackward(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> mean, DeviceBuffer<float> rstd,
        DeviceBuffer<float> dy, DeviceBuffer<float> dx, DeviceBuffer<float> dGammaAccumulate, DeviceBuffer<float> dBetaAccumulate,
        int rows, int cols);
    /// <summary>y = x * rstd * gamma per row with rstd = 1 / sqrt(mean(x^2) + epsilon), saved per row for backward.</summary>
    void RmsNorm(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> y, DeviceBuffer<float> rstd,
        int rows, int cols, float epsilon);
    /// <summary>Writes dx; adds into dGamma (which the caller zeroes or keeps).</summary>
    void RmsNormBackward(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> rstd, DeviceBuffer<float> dy,
        DeviceBuffer<float> dx, DeviceBuffer<float> dGammaAccumulate, int rows, int cols);
    /// <summary>loss[r] = logsumexp(logits[r]) - logits[r, target[r]], or 0 where mask[r] == 0 (mask may be null);
    /// saves the row's logsumexp. Targets must lie in [0, vocab) on unmasked rows.</summary>
    void CrossEntropy(DeviceBuffer<float> logits, DeviceBuffer<int> targets, DeviceBuffer<float>? mask,
        DeviceBuffer<float> losses, DeviceBuffer<float> logSumExp, int rows, int vocab);
    /// <summary>dlogits[r] = dloss[r] * (softmax(logits[r]) - onehot(target[r])), zero on masked rows.</summary>
    void CrossEntropyBackward(DeviceBuffer<float> logits, DeviceBuffer<int> targets, DeviceBuffer<float>? mask,
        DeviceBuffer<float> logSumExp, DeviceBuffer<float> dLosses, DeviceBuffer<float> dLogits, int rows, int vocab);
    /// <summary>y[r] = sum_c mask[r,c] x[r,c] / sum_c mask[r,c]; a row with no unmasked entry gives 0.</summary>
    void MaskedRowMean(DeviceBuffer<float> x, DeviceBuffer<float> mask, DeviceBuffer<float> y, int rows, int cols);
    void MaskedRowMeanBackward(DeviceBuffer<float> mask, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int rows, int cols);

    // ---- attention ----------------------------------------------------------------------------------------------
    /// <summary>Causal softmax(q kᵀ * scale) v over `heads` (seq x headDim) query problems; saves each row's logsumexp so
    /// backward recomputes probabilities instead of storing seq x seq per head. Grouped-query attention: query head h reads
    /// key/value head h / <paramref name="queriesPerKvHead"/>, so k and v hold heads / queriesPerKvHead heads (1 for plain
    /// multi-head attention).</summary>
    void CausalAttention(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, int heads, int queriesPerKvHead, int seq, int headDim, float scale);
    /// <summary>Writes dq, dk and dv completely; dk and dv sum over the query heads that share each key/value head.</summary>
    void CausalAttentionBackward(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, DeviceBuffer<float> dOutput, DeviceBuffer<float> dq, DeviceBuffer<float> dk,
        DeviceBuffer<float> dv, int heads, int queriesPerKvHead, int seq, int headDim, float scale);

    // ---- indexing and layout ------------------------------------------------------------------------------------
    /// <summary>y[i, :] = table[ids[i], :]. Ids must lie in [0, rows of table).</summary>
    void EmbeddingGather(DeviceBuffer<float> table, DeviceBuffer<int> ids, DeviceBuffer<float> y, int count, int dim);
    /// <summary>dTable[ids[i], :] += dy[i, :] (repeated ids add up).</summary>
    void EmbeddingScatterAccumulate(DeviceBuffer<float> dy, DeviceBuffer<int> ids, DeviceBuffer<float> dTable, int count, int dim);
    /// <summary>[d0, d1, d2, d3] -> [d0, d2, d1, d3]: the head split and merge of attention.</summary>
    void SwapAxes12(DeviceBuffer<float> x, DeviceBuffer<float> y, int d0, int d1, int d2, int d3);

    // ---- optimizer ----------------------------------------------------------------------------------------------
    /// <summary>One AdamW update (decoupled weight decay, bias-corrected) in a single pass over the parameter.</summary>
    void AdamW(DeviceBuffer<float> parameter, DeviceBuffer<float> gradient, DeviceBuffer<float> firstMoment,
        DeviceBuffer<float> secondMoment, int count, float learningRate, float beta1, float beta2, float epsilon,
        float weightDecay, int step);
    /// <summary>The same update for many tensors stored in flat buffers, in one launch: <paramref name="chunks"/> holds
    /// <paramref name="chunkCount"/> (offset, length, decays) triples (see <see cref="ChunkTable"/>). A chunk's weights are
    /// multiplied by <see cref="AdamWStep.Decay"/> when decays is 1 and left unscaled when it is 0; elements in no chunk are
    /// left alone. Bitwise the same as the single-tensor AdamW on each tensor.</summary>
    void MultiTensorAdamW(DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> firstMoments,
        DeviceBuffer<float> secondMoments, DeviceBuffer<int> chunks, int chunkCount, AdamWStep step);
}

public readonly record struct BufferPoolStats(long FreshAllocations, long Rents, long Recycles, long BytesHeld);
