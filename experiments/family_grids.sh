#!/bin/sh
# Issue 12's evaluation: every method that runs without the true blur's
# formula, plus the oracle bound, for every blur family at read noise 0 and
# 0.02. One methods JSON per family and noise level goes to saved_models/, its
# figures to docs/. A run whose JSON exists is skipped, so the script can be
# restarted after an interruption.
#
#     TFDS_DATA_DIR=../shared/data/tensorflow_datasets sh experiments/family_grids.sh
#
# FAMILIES and NOISES choose the grids; DATASET (default mnist) the data set,
# whose JSONs and figures go to its own folders (saved_models/fashion_mnist/
# and docs/fashion_mnist/ for Fashion-MNIST); SCALE the length scale of the
# three line-blur families (default: the data set's DatasetSpec.length_scale,
# the one experiments/length_scale_scan.py found for its classifier); LIMIT, when set, evaluates
# only the first LIMIT test images (the grids with 21 settings take about 20 minutes
# each on all 10,000 images at about 200 GFLOP/s of fp32 matmul).
set -e
# Order matters for cost only: hybrid reuses egan-blur or egan-refine and
# augment-mixture, and gated reuses the hybrid, when they ran before it.
METHODS=none,egan-blur,egan-refine,augment-mixture,hybrid,gated,wiener,wiener-oracle,augment
DATASET=${DATASET:-mnist}
SCALE=${SCALE:-$(python -c "from egan_tf.datasets import dataset_spec; print(f'{dataset_spec(\"$DATASET\").length_scale:g}')")}
if [ "$DATASET" = mnist ]; then models=saved_models; docs=docs
else models="saved_models/$DATASET"; docs="docs/$DATASET"; fi
for noise in ${NOISES:-0 0.02}; do
  for family in ${FAMILIES:-fourier spatial trail shake}; do
    if [ "$family" = shake ]; then scale=1; name="methods_shake_noise$noise"
    else scale=$SCALE; name="methods_${family}_scale${scale}_noise$noise"; fi
    json="$models/$name.json"
    if [ -f "$json" ]; then echo "skip $json"; continue; fi
    python cli.py evaluate --grid --quiet --methods "$METHODS" --blur "$family" \
      --dataset "$DATASET" --noise "$noise" --length-scale "$scale" \
      ${LIMIT:+--limit "$LIMIT"} --json "$json" --figures "$docs/$name"
  done
done
