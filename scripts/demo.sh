#!/usr/bin/env bash
# The main job: take the example servables through build and run on whatever this machine has
# (Docker when an engine answers, else the host's Python), and show a memo-cache hit.
set -euo pipefail
cd "$(dirname "$0")/.."
dlhub() { node bin/dlhub.js "$@"; }

# No DLHUB_BASE_IMAGE needed: on a machine that cannot pull python:3.11-slim, `dlhub build` uses the
# base image setup.sh built from Debian packages, and says so.
# The host runtime needs a Python with scikit-learn for the iris model.
export DLHUB_PYTHON=${DLHUB_PYTHON:-/usr/bin/python3}

set -x
dlhub build examples/noop
dlhub run noop
dlhub build examples/iris
dlhub describe iris
dlhub run iris --method predict --input '[[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]'
dlhub run iris --method predict --input '[[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]'
dlhub run iris --method predict_proba --runtime host --input '[[5.9, 3.0, 5.1, 1.8]]'
dlhub build examples/function
dlhub run summary-stats --input '[1, 2, 3, 4]'
dlhub ls
dlhub cache stats
dlhub search iris
dlhub search --advanced 'servable.type:"Scikit-learn estimator" AND dlhub.domains:"biology"'
# A pipeline (examples/formation-enthalpy): parse a formula, compute features, predict with
# scikit-learn, chained inside the engine; the second run is answered step by step from the memo cache.
[ -f examples/formation-enthalpy/predict/model.pkl ] || /usr/bin/python3 examples/formation-enthalpy/predict/train.py
dlhub build examples/formation-enthalpy/parse
dlhub build examples/formation-enthalpy/features
dlhub build examples/formation-enthalpy/predict
dlhub build examples/formation-enthalpy
dlhub describe formation-enthalpy
dlhub run formation-enthalpy --input '"Fe2O3"'
dlhub run formation-enthalpy --input '"Fe2O3"' --json
