#!/usr/bin/env bash
# Chapter 7's tables at book scale: PixelRL agents trained on Train400 (200 episodes of 8 crops of 48x48 after 300
# steps of supervised pretraining), tested on the first 20 BSD68 images, then the baselines (scripts/eval_pixelrl.py).
# Needs Train400 and BSD68 (downloaded, or RESTORELIB_DATA). Two chains fit two cores (OMP_NUM_THREADS=1 each; nine agents);
# each run takes about 25 min on one core. Writes restorelib/weights/pixelrl/*-t400/ and .../pixelrl/baselines.json.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/pixelrl
train() {  # TASK [--no-gru] [--no-rmc] -> the run's folder name on stdout
    local name
    name=$(python -c "import sys; sys.path.insert(0, 'scripts'); from train_pixelrl import run_name; \
from restorelib.pixelrl.a2c import SCALES; from dataclasses import replace; a = sys.argv[2:]; \
print(run_name(sys.argv[1], replace(SCALES['book'], gru='--no-gru' not in a, rmc='--no-rmc' not in a)))" "$@")-t400
    python scripts/train_pixelrl.py --scale book --episodes 200 --task "$@" --train-set Train400 --test-set BSD68 \
        --eval-size 0 --eval-images 20 --out "restorelib/weights/pixelrl/$name" > "runs/pixelrl/$name.log" 2>&1
    echo "$name"
}
export OMP_NUM_THREADS=1
( for t in noise:15 noise:50 saltpepper:0.5 saltpepper:0.9 saltpepper:0.1; do train "$t"; done ) &
( train noise:25; train noise:25 --no-rmc; train text; train noise:25 --no-gru --no-rmc ) &
wait
python scripts/eval_pixelrl.py      # every *-t400 agent against the best classical filter and a supervised CNN
