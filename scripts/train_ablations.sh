#!/usr/bin/env bash
# Chapter 4's ablations (paper Tables 4, 6, 7) at the shared "ablation" budget, one after another.
# Each run writes restorelib/weights/agents/ablation-*/ (agent.pt, record.json, README.md); logs go to runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs
for flags in "" "--no-stop" "--reward final-mse" "--six-tools" "--t-max 2" "--t-max 4"; do
    name=$(echo "ablation $flags" | tr -s ' -' '-' | sed 's/-$//')
    # shellcheck disable=SC2086
    python scripts/train_agent.py --scale ablation $flags 2>&1 | tee "runs/$name.log"
done
