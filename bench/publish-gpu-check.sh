#!/usr/bin/env bash
# Builds the self-contained single-file HardFocus.Bench that bench/gpu-check.sh runs on a GPU machine without a .NET SDK.
# Output: .publish/gpu-check/HardFocus.Bench (git-ignored). Copy the repository, or just bench/ and .publish/, across.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

rm -rf .publish/gpu-check
dotnet publish bench -c Release -r linux-x64 --self-contained \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -o .publish/gpu-check
ls -l .publish/gpu-check
echo "published: .publish/gpu-check/HardFocus.Bench ($(stat -c %s .publish/gpu-check/HardFocus.Bench | awk '{printf "%.1f MB", $1 / 1e6}'))"
