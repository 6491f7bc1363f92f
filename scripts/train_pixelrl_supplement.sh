#!/usr/bin/env bash
# Chapter 7's supplementary tables at book scale, trained as scripts/train_pixelrl_tables.sh trains Tables 2-4
# (200 episodes of 8 crops of 48x48 on Train400 after 300 steps of supervised pretraining, tested on the first 20
# BSD68 images): Table 7, Poisson noise at peaks 120, 30 and 10; Table 8, Gaussian noise at sigma 15, 25 and 50 with
# the action sets basic, bilateral and pixel (the "all" row is Table 2's shipped agent). Agents already shipped are
# skipped and a stopped one resumes, so the script can be run again after an interruption; then
# scripts/eval_pixelrl.py adds them to restorelib/weights/pixelrl/baselines.json. About 25 min an agent on one core
# (twelve agents; two chains fit two cores). Needs Train400 and BSD68 (downloaded, or RESTORELIB_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/pixelrl
train() {  # TASK [--actions SET] -> trains restorelib/weights/pixelrl/NAME-t400 unless it is shipped
    local name out
    name=$(python -c "import sys; sys.path.insert(0, 'scripts'); from train_pixelrl import run_name; \
from restorelib.pixelrl.a2c import SCALES; from dataclasses import replace; a = sys.argv[2:]; \
s = a[a.index('--actions') + 1] if '--actions' in a else 'all'; \
print(run_name(sys.argv[1], replace(SCALES['book'], action_set=s)))" "$@")-t400
    out="restorelib/weights/pixelrl/$name"
    if [ -f "$out/record.json" ]; then echo "$name: shipped, skipped"; return; fi
    python scripts/train_pixelrl.py --scale book --episodes 200 --task "$@" --train-set Train400 --test-set BSD68 \
        --eval-size 0 --eval-images 20 --out "$out" $([ -d "$out/.partial" ] && echo --resume) \
        > "runs/pixelrl/$name.log" 2>&1
    echo "$name"
}
export OMP_NUM_THREADS=1
( for s in 25 15 50; do train noise:$s --actions basic; train noise:$s --actions pixel; done ) &
( train poisson:30; for s in 25 15 50; do train noise:$s --actions bilateral; done; train poisson:120; train poisson:10 ) &
wait
python scripts/eval_pixelrl.py      # every *-t400 agent against the best classical filter and a supervised CNN
