#!/bin/sh
# SageMaker runs an algorithm image with one argument: `train` or `serve`.
set -e
case "${1:-}" in
  train) shift; exec python3 -m apiary_od.train "$@" ;;
  serve) shift; exec node /app/bin/apiary serve-model "${SM_MODEL_DIR:-/opt/ml/model}" ;;
  *) echo "usage: train | serve (SageMaker's algorithm container contract)" >&2; exit 64 ;;
esac
