#!/usr/bin/env python3
"""PyTorch baseline for `HardFocus.Bench gpu-check`: times the same GPT-2 training steps on CUDA.

The model mirrors models/Gpt/GptModel.cs: token and learned position embeddings, pre-LayerNorm blocks with separate
q/k/v projections and causal scaled_dot_product_attention, a 4x MLP with tanh GELU, a final LayerNorm and an LM head
tied to the token embedding; fp32 throughout (TF32 off), GPT-2 initialisation, no dropout. A step mirrors the hardfocus
trainer: per-sequence mean losses, read back to the host (hardfocus needs them for its sample weights), the backward
of their mean, then AdamW (lr 1e-3, weight decay 0.01 on matrices only). Token ids are random: timing does not depend
on the text. Prints one line per preset, which bench/gpu-check.sh parses:

    torch small batch=8 seq=128 steps=10 tokens_per_s=12345

Exits 0 with a message when PyTorch or CUDA is missing, so gpu-check.sh may run it unconditionally.
"""
import argparse
import math
import sys
import time

# name: model shape and the batch shape gpu-check trains it at (bench/GpuCheck/TrainingThroughput.cs).
PRESETS = {
    "tiny": dict(vocab=256, context=64, layers=2, heads=2, width=64, batch=2, seq=16),
    "small": dict(vocab=256, context=128, layers=4, heads=4, width=256, batch=8, seq=128),
    "gpt2": dict(vocab=50257, context=1024, layers=12, heads=12, width=768, batch=8, seq=1024),
}
WARMUP_STEPS = 2


def build_model(torch, vocab, context, layers, heads, width):
    nn, F = torch.nn, torch.nn.functional
    std, residual_std = 0.02, 0.02 / math.sqrt(2 * layers)

    def linear(fan_in, fan_out, init_std):
        layer = nn.Linear(fan_in, fan_out)
        nn.init.normal_(layer.weight, 0.0, init_std)
        nn.init.zeros_(layer.bias)
        return layer

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.q_proj, self.k_proj, self.v_proj = (linear(width, width, std) for _ in range(3))
            self.attn_proj = linear(width, width, residual_std)
            self.fc = linear(width, 4 * width, std)
            self.mlp_proj = linear(4 * width, width, residual_std)

        def forward(self, x):
            b, t, c = x.shape
            h = self.ln_1(x)
            q, k, v = (p(h).view(b, t, heads, c // heads).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
            attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn_proj(attended.transpose(1, 2).reshape(b, t, c))
            return x + self.mlp_proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))

    class Gpt(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, width), nn.Embedding(context, width)
            nn.init.normal_(self.wte.weight, 0.0, std)
            nn.init.normal_(self.wpe.weight, 0.0, std)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.ln_f = nn.LayerNorm(width)

        def forward(self, ids):
            x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1], device=ids.device))
            for block in self.blocks:
                x = block(x)
            return self.ln_f(x) @ self.wte.weight.T

    return Gpt()


def tokens_per_second(torch, device, preset, batch, steps):
    F = torch.nn.functional
    model = build_model(torch, preset["vocab"], preset["context"], preset["layers"], preset["heads"], preset["width"]).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    seq, vocab = preset["seq"], preset["vocab"]
    ids = torch.randint(0, vocab, (batch, seq + 1), device=device)
    inputs, targets = ids[:, :-1], ids[:, 1:]

    def step():
        logits = model(inputs)
        losses = F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), reduction="none").view(batch, seq).mean(1)
        losses.detach().cpu()
        losses.mean().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(WARMUP_STEPS):
        step()
    synchronize(torch, device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(torch, device)
    return steps * batch * seq / (time.perf_counter() - start)


def synchronize(torch, device):
    if device == "cuda":
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="small,gpt2", help="comma-separated: " + ", ".join(PRESETS))
    parser.add_argument("--steps", type=int, default=10, help="timed steps per preset, after %d warm-up steps" % WARMUP_STEPS)
    parser.add_argument("--device", default="cuda", help="cuda, or cpu for a smoke test of this script")
    args = parser.parse_args()
    names = args.presets.split(",")
    unknown = [n for n in names if n not in PRESETS]
    if unknown or args.steps < 1:
        parser.error("unknown preset %s" % unknown if unknown else "--steps must be positive")

    try:
        import torch
    except ImportError:
        print("torch_gpt: PyTorch is not installed; skipping the PyTorch baseline")
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        print("torch_gpt: PyTorch %s sees no CUDA device; skipping the PyTorch baseline" % torch.__version__)
        return 0
    # fp32 like hardfocus: no TF32 tensor-core shortcuts in matmuls.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print("torch_gpt: PyTorch %s on %s, fp32, %d warm-up then %d timed steps" % (torch.__version__, name, WARMUP_STEPS, args.steps))

    for preset_name in names:
        preset = PRESETS[preset_name]
        batch = preset["batch"]
        while True:
            try:
                rate = tokens_per_second(torch, args.device, preset, batch, args.steps)
                print("torch %s batch=%d seq=%d steps=%d tokens_per_s=%.0f" % (preset_name, batch, preset["seq"], args.steps, rate), flush=True)
                break
            except torch.cuda.OutOfMemoryError:
                if batch == 1:
                    print("torch_gpt: %s does not fit in device memory even at batch 1" % preset_name)
                    break
                print("torch_gpt: %s out of device memory at batch %d; retrying at %d" % (preset_name, batch, batch // 2))
                batch //= 2
                torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
