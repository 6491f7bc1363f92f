#!/usr/bin/env bash
# Chapter 4's ablations (paper Tables 4, 6, 7) at the shared "ablation" budget (24,000 steps), one after another,
# with the shipped agent's recipe: CBSD398, a LIVE1 validation that keeps the best snapshot, one update every 4
# patch-steps, the learning step in bf16 (about 25 min each on one core of the project's machine). Each run writes
# restorelib/weights/agents/ablation-*/ (agent.pt, record.json, README.md), replacing the shipped one; a stopped
# run resumes. Logs go to runs/. Needs CBSD398 and LIVE1 (downloaded, or RESTORELIB_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs
for flags in "" "--no-stop" "--reward final-mse" "--six-tools" "--t-max 2" "--t-max 4"; do
    name=$(echo "ablation $flags" | tr -s ' -' '-' | sed 's/-$//')
    # shellcheck disable=SC2086
    python scripts/train_agent.py --scale ablation --train-set CBSD398 --val-set LIVE1 --train-every 4 --amp \
        --resume --force $flags 2>&1 | tee "runs/$name.log"
done
