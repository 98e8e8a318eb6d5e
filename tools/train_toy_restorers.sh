#!/usr/bin/env bash
# Train the committed toy restorers (tiny profile), two at a time on one thread each, then the extra
# seeds that notebook 05 uses to judge the adapter's value. About 11 minutes per pair on 2 CPU cores.
# Run from the repository root; copy each run's system folder and loss.csv into lafr/weights/ after
# (tools/collect_toy_restorers.py). Usage: bash tools/train_toy_restorers.sh [pairs...]
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
run() {  # name, then train-lora options
  local name=$1; shift
  python -c "import sys; from lafr.cli import main; sys.exit(main(sys.argv[1:]))" \
    train-lora --profile tiny --out "runs/$name" --lora-dtype float16 "$@" > "runs/$name.log" 2>&1
}
mkdir -p runs
pair() {
  case $1 in
    1) run toy-restorer & run toy-restorer-no-adapter --adapter none & ;;
    2) run toy-restorer-attention --targets attention & run toy-restorer-res-only --terms res & ;;
    3) run seeds/toy-restorer-seed1 --seed 1 & run seeds/toy-restorer-no-adapter-seed1 --adapter none --seed 1 & ;;
    4) run seeds/toy-restorer-seed2 --seed 2 & run seeds/toy-restorer-no-adapter-seed2 --adapter none --seed 2 & ;;
  esac
  wait
}
mkdir -p runs/seeds
for p in "${@:-1 2 3}"; do pair "$p"; done
