"""Train the iris example servable: a random forest on the iris data scikit-learn ships.

Run with a Python that has scikit-learn (here /usr/bin/python3):
    /usr/bin/python3 examples/iris/train.py
Writes model.pkl next to this file; `dlhub init examples/iris` then describes it.
"""
import os
import pickle

from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split


def main():
    data = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.25, random_state=0)
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(x_train, data.target_names[y_train])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'model.pkl')
    with open(path, 'wb') as fp:
        pickle.dump(model, fp)
    print(f'wrote {path}: {type(model).__name__}, {model.n_features_in_} features, '
          f'classes {list(data.target_names)}, test accuracy {model.score(x_test, data.target_names[y_test]):.3f}')


if __name__ == '__main__':
    main()
