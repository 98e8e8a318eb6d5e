#!/usr/bin/env bash
# Train the committed toy restorers (tiny profile): the full method and its three ablations at training
# seeds 0, 1 and 2 (notebooks 05 and 06 report every number over the three seeds; the seed-0 systems are
# the committed ones), and the 3,000-step budget run notebook 05 shows (tools/stage2_sweep.py). Two
# runs at a time, one thread each: 13 to 80 minutes per run on one CPU core, by the machine (about 800 s on 2026-12-02;
# 1,360 to 3,200 s on 2026-12-07, with other work sharing the cores at times; 3,670 to 4,400 s later that day on a
# slower VM, and about 4,600 s for faces300-seed1, whose manifest counts only the 3,537 s after it resumed; so
# does lpips8-seed1's, resumed at step 300), twice that for the budget run. A manifest's seconds also count any
# time the run was paused (kill -STOP) while the cores timed something else: rank16-seed1 reads 5,291 s, about
# 4,200 s of it training. Run it again after an interruption:
# finished runs are skipped and stopped ones resume from their last checkpoint (every 100 steps); the budget run
# starts again.
# Run from the repository root; then copy the systems and measurements into lafr/weights/ with
#     python tools/collect_toy_restorers.py --runs runs --budget runs/budget/results.json
# or, to add only the experiments that finished (nothing else re-judged or copied), as each one finishes:
#     python tools/collect_toy_restorers.py --runs runs --experiments-only
# Usage: bash tools/train_toy_restorers.sh [JOB ...]   (default: every committed job, in this order)
#   jobs: full-0 no-adapter-0 budget attention-0 res-only-0, and full-N no-adapter-N attention-N
#   res-only-N for N = 1, 2 (the committed systems and their seeds);
#   experiments (the full method with one value changed, in runs/experiments/NAME-seedN):
#   facesK-N (K training faces instead of 600: the toy Table 11), lpipsW-N (the LPIPS term's weight W
#   instead of 2), rankR-N (LoRA rank R instead of 4), tT-N (timestep T instead of 49), residual-N (the
#   skip-connection adapter of notebook 03), for any seed N; and the adapter under a harsher degradation
#   (GFPGAN's ranges at 64 px for training and testing): harsh-adapter (stage 1, about 35 minutes),
#   then harsh-full-N and harsh-no-adapter-N (they wait for harsh-adapter to finish)
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
mkdir -p runs/seeds runs/experiments
lora() {  # run folder, then train-lora options; a finished run is skipped, a stopped one resumed
  local name=$1; shift
  if [[ -f runs/$name/system/manifest.json ]]; then echo "runs/$name: finished already"; return; fi
  if [[ -f runs/$name/checkpoint.safetensors ]]; then set -- "$@" --resume; fi
  python -c "import sys; from lafr.cli import main; sys.exit(main(sys.argv[1:]))" \
    train-lora --profile tiny --out "runs/$name" --lora-dtype float16 "$@" >> "runs/$name.log" 2>&1
}
job() {
  local system=${1%-*} seed=${1##*-} folder options=()
  local harsh=(--set degradation=gfpgan --set test_degradation=gfpgan) adapter=runs/experiments/harsh-adapter
  if [[ $1 == harsh-adapter ]]; then
    [[ -f $adapter/manifest.json ]] && { echo "$adapter: finished already"; return; }
    [[ -f $adapter/checkpoint.safetensors ]] && harsh+=(--resume)
    python -c "import sys; from lafr.cli import main; sys.exit(main(sys.argv[1:]))" \
      train-adapter --profile tiny --out "$adapter" "${harsh[@]}" >> "$adapter.log" 2>&1
    return
  fi
  if [[ $system == harsh-* ]]; then
    until [[ -f $adapter/manifest.json ]]; do sleep 60; done  # stage 1 first
    [[ $system == harsh-full ]] || adapter=none
    lora "experiments/$system-seed$seed" --adapter "$adapter" "${harsh[@]}" --seed "$seed"
    return
  fi
  if [[ $1 == budget ]]; then
    python tools/stage2_sweep.py --out runs/budget --timesteps 49 --steps 3000 --eval-every 250 --views 8 \
      > runs/budget.log 2>&1
    return
  fi
  case $system in
    full) ;;
    no-adapter) options=(--adapter none) ;;
    attention) options=(--targets attention) ;;
    res-only) options=(--terms res) ;;
    faces[0-9]*) lora "experiments/$system-seed$seed" --set "train_images=${system#faces}" --seed "$seed"; return ;;
    lpips[0-9]*) lora "experiments/$system-seed$seed" --set "lpips_weight=${system#lpips}" --seed "$seed"; return ;;
    rank[0-9]*) lora "experiments/$system-seed$seed" --rank "${system#rank}" --seed "$seed"; return ;;
    t[0-9]*) lora "experiments/$system-seed$seed" --timestep "${system#t}" --seed "$seed"; return ;;
    residual) lora "experiments/$system-seed$seed" --adapter lafr-toy-adapter-residual --seed "$seed"; return ;;
    *) echo "unknown job $1" >&2; return 2 ;;
  esac
  folder=toy-restorer
  [[ $system == full ]] || folder+="-$system"
  if [[ $seed == 0 ]]; then lora "$folder" "${options[@]}"; else lora "seeds/$folder-seed$seed" "${options[@]}" --seed "$seed"; fi
}
todo=("$@")
if [[ ${#todo[@]} == 0 ]]; then
  todo=(full-0 no-adapter-0 budget attention-0 res-only-0)
  for s in 1 2; do todo+=(full-$s no-adapter-$s attention-$s res-only-$s); done
fi
for j in "${todo[@]}"; do
  while (( $(jobs -rp | wc -l) >= 2 )); do wait -n; done
  echo "$(date -u +%H:%M) start $j"
  job "$j" &
done
wait
echo "$(date -u +%H:%M) all done"
