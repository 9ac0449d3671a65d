"""Train the formation-enthalpy example's regressor (the pipeline's third step).

Run with a Python that has scikit-learn (here /usr/bin/python3):
    /usr/bin/python3 examples/formation-enthalpy/predict/train.py
Reads data.csv (composition, formation enthalpy in eV/atom; illustrative values, see the README),
featurizes each composition with the pipeline's own parse and features steps, fits a random
forest and writes model.pkl next to this file.
"""
import csv
import os
import pickle
import sys

from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import cross_val_score

HERE = os.path.dirname(os.path.abspath(__file__))
# The same code the pipeline runs, so training and serving features cannot drift apart.
sys.path[:0] = [os.path.join(HERE, '..', 'parse'), os.path.join(HERE, '..', 'features')]
from composition import parse_composition  # noqa: E402
from featurize import featurize  # noqa: E402


def main():
    with open(os.path.join(HERE, 'data.csv'), newline='') as fp:
        rows = list(csv.DictReader(fp))
    x = [featurize(parse_composition(r['composition'])) for r in rows]
    y = [float(r['formation_enthalpy_ev_per_atom']) for r in rows]
    model = RandomForestRegressor(n_estimators=50, random_state=0)
    # Cross-validated error first, then the model that ships is fitted on every row.
    mae = -cross_val_score(model, x, y, cv=5, scoring='neg_mean_absolute_error').mean()
    model.fit(x, y)
    path = os.path.join(HERE, 'model.pkl')
    with open(path, 'wb') as fp:
        pickle.dump(model, fp)
    print(f'wrote {path}: {type(model).__name__} on {len(rows)} compositions, '
          f'{model.n_features_in_} features, 5-fold mean absolute error {mae:.2f} eV/atom')


if __name__ == '__main__':
    main()
