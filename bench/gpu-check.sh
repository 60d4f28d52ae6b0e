#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU and possibly no .NET SDK:
#   1. nvidia-smi's view of the GPU, if nvidia-smi is there;
#   2. HardFocus.Bench gpu-check --device cuda: every kernel against the CPU backend, then training tokens/s and GEMM TFLOP/s;
#   3. if PyTorch imports: bench/torch_gpt.py on the same presets, and hardfocus/torch tokens/s per preset.
# Needs the self-contained binary from bench/publish-gpu-check.sh (.publish/gpu-check/HardFocus.Bench; override with
# HARDFOCUS_BENCH=path). Usage: bench/gpu-check.sh [LOG]; everything is also written to LOG (default ./gpu-check.log).
# Exits with gpu-check's status: 0 all good, 1 a kernel failed parity, 2 no CUDA device, 3 a preset failed to train.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log="${1:-./gpu-check.log}"
bench="${HARDFOCUS_BENCH:-$here/../.publish/gpu-check/HardFocus.Bench}"
: > "$log" || exit 2
exec > >(tee -a "$log") 2>&1

echo "== gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
if command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
else
  echo "nvidia-smi not found"
fi
if [ ! -x "$bench" ]; then
  echo "gpu-check: $bench not found; build it with bench/publish-gpu-check.sh on a machine with the .NET SDK"
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"

# ILGPU opens the driver as libcuda.so; some driver installs ship only libcuda.so.1, so link it where dlopen looks.
ldconfig="$(command -v ldconfig || echo /sbin/ldconfig)"
if ! "$ldconfig" -p 2> /dev/null | grep -q 'libcuda\.so '; then
  libcuda1="$("$ldconfig" -p 2> /dev/null | awk '/libcuda\.so\.1 / {print $NF; exit}')"
  if [ -n "$libcuda1" ]; then
    ln -s "$libcuda1" "$tmp/libcuda.so"
    export LD_LIBRARY_PATH="$tmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi

"$bench" gpu-check --device cuda | tee "$out"
status=${PIPESTATUS[0]}
echo "== HardFocus.Bench gpu-check exited with $status"

if python3 -c 'import torch' 2> /dev/null; then
  # torch_gpt.py holds the GPT presets only: the LLaMA ones (llama-small, smollm-135m) have no PyTorch twin yet.
  presets="$(awk '/^hardfocus / && $2 !~ /^(llama-|smollm-)/ {print $2}' "$out" | paste -sd, -)"
  python3 "$here/torch_gpt.py" --presets "${presets:-small,gpt2}" | tee -a "$out"
  echo "== tokens/s, hardfocus / torch (fp32, same model and batch shape)"
  awk '
    { for (i = 3; i <= NF; i++) { split($i, kv, "="); field[kv[1]] = kv[2] } }
    $1 == "hardfocus" { ours[$2] = field["tokens_per_s"]; shape[$2] = "batch=" field["batch"] " seq=" field["seq"] }
    $1 == "torch" { theirs[$2] = field["tokens_per_s"]; tshape[$2] = "batch=" field["batch"] " seq=" field["seq"] }
    END {
      for (p in ours) {
        if (p in theirs && theirs[p] > 0)
          printf "ratio %s hardfocus=%s (%s) torch=%s (%s) ours/torch=%.3f\n", p, ours[p], shape[p], theirs[p], tshape[p], ours[p] / theirs[p]
        else
          printf "ratio %s: no torch number\n", p
      }
    }' "$out"
else
  echo "== PyTorch not importable by python3; skipping the PyTorch baseline"
fi
echo "== log: $log"
exit "$status"
