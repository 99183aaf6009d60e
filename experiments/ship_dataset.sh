#!/bin/sh
# Ships a second data set's networks and measures them, once `reproduce` has
# written them and their settings into FROM (see the README's Fashion-MNIST
# section):
#
#     TFDS_DATA_DIR=../shared/data/tensorflow_datasets \
#       DATASET=fashion_mnist FROM=/path/to/models sh experiments/ship_dataset.sh
#
# 1. copies the networks, their model cards, defense.json and bf16_margin.json
#    into saved_models/<DATASET>/ (a card already there is kept when KEEP names
#    it: a stage that `reproduce` only re-saved may lack what its training
#    run recorded);
# 2. the paper's grid at the paper's scale and at the data set's length scale,
#    the clean evaluation with G's coverage per class, and issue 12's methods
#    grids (experiments/family_grids.sh);
# 3. the reports and the export.
# Every step whose output exists is skipped, so the script can be restarted.
# PARALLEL=2 runs the methods grids of the two noise levels side by side.
# LIMIT=N measures on the first N test images only: a rehearsal of the whole
# script in minutes, to run in a scratch clone (its outputs are not the
# shipped numbers).
set -e
DATASET=${DATASET:?set DATASET, e.g. fashion_mnist}
FROM=${FROM:?set FROM, the models folder reproduce wrote}
KEEP=${KEEP:-classifier.json}
models="saved_models/$DATASET"
docs="docs/$DATASET"
SCALE=$(python -c "from egan_tf.datasets import dataset_spec; print(f'{dataset_spec(\"$DATASET\").length_scale:g}')")
mkdir -p "$models" "$docs"

for stem in classifier generator discriminator encoder encoder_blur \
    classifier_augment classifier_mixture blur_estimator; do
  [ -f "$models/$stem.keras" ] || cp "$FROM/$stem.keras" "$models/"
done
for card in classifier gan encoder encoder_blur classifier_augment \
    classifier_mixture blur_estimator defense bf16_margin; do
  case " $KEEP " in *" $card.json "*) [ -f "$models/$card.json" ] && continue ;; esac
  cp "$FROM/$card.json" "$models/"
done

for scale in 1 "$SCALE"; do
  json="$models/grid_scale$scale.json"
  [ -f "$json" ] || python cli.py evaluate --grid --quiet --dataset "$DATASET" \
    --length-scale "$scale" ${LIMIT:+--limit "$LIMIT"} --json "$json" \
    --figures "$docs/grid_scale$scale"
done
[ -f "$models/egan_clean.json" ] || python cli.py evaluate --quiet \
  --dataset "$DATASET" ${LIMIT:+--limit "$LIMIT"} --json "$models/egan_clean.json"
if [ "${PARALLEL:-1}" = 2 ]; then
  # The two noise levels side by side, one thread each (two training
  # processes did at least 1.1x the work of one on this 2-core machine).
  DATASET=$DATASET LIMIT=$LIMIT NOISES=0 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
    sh experiments/family_grids.sh &
  first=$!
  DATASET=$DATASET LIMIT=$LIMIT NOISES=0.02 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
    sh experiments/family_grids.sh
  wait $first
else
  DATASET=$DATASET LIMIT=$LIMIT sh experiments/family_grids.sh
fi

python experiments/family_report.py "$models"/methods_*_noise*.json \
  --figure "$docs/family_curves.png" > "$docs/family_report.txt"
python experiments/coverage_report.py saved_models/egan_clean.json \
  "$models/egan_clean.json" > "$docs/coverage_report.txt"
python experiments/sample_classes.py saved_models "$models" > "$docs/sample_classes.txt"
python experiments/grid_tables.py saved_models/grid_scale1.json saved_models/grid_scale6.json \
  "$models/grid_scale1.json" "$models/grid_scale$SCALE.json" > "$docs/grid_tables.txt"
[ -d "$models/egan_defense" ] || python cli.py export --dataset "$DATASET" \
  ${LIMIT:+--limit "$LIMIT"}
du -k "$models"/* | sort -n | tail -20
du -sh saved_models
