"""Turn element fractions into a fixed-length feature vector (the second step of the pipeline).

A small stand-in for matminer's ElementProperty featurizer: for four element properties
(atomic number, Pauling electronegativity, period, group) the fraction-weighted mean and
variance, the maximum and the minimum over the elements present: 16 numbers.
"""
from typing import Dict, List

# symbol: (atomic number, Pauling electronegativity, period, group)
ELEMENTS = {
    'H': (1, 2.20, 1, 1), 'Li': (3, 0.98, 2, 1), 'Be': (4, 1.57, 2, 2), 'B': (5, 2.04, 2, 13),
    'C': (6, 2.55, 2, 14), 'N': (7, 3.04, 2, 15), 'O': (8, 3.44, 2, 16), 'F': (9, 3.98, 2, 17),
    'Na': (11, 0.93, 3, 1), 'Mg': (12, 1.31, 3, 2), 'Al': (13, 1.61, 3, 13), 'Si': (14, 1.90, 3, 14),
    'P': (15, 2.19, 3, 15), 'S': (16, 2.58, 3, 16), 'Cl': (17, 3.16, 3, 17), 'K': (19, 0.82, 4, 1),
    'Ca': (20, 1.00, 4, 2), 'Ti': (22, 1.54, 4, 4), 'V': (23, 1.63, 4, 5), 'Cr': (24, 1.66, 4, 6),
    'Mn': (25, 1.55, 4, 7), 'Fe': (26, 1.83, 4, 8), 'Co': (27, 1.88, 4, 9), 'Ni': (28, 1.91, 4, 10),
    'Cu': (29, 1.90, 4, 11), 'Zn': (30, 1.65, 4, 12), 'Ga': (31, 1.81, 4, 13), 'Ge': (32, 2.01, 4, 14),
    'Se': (34, 2.55, 4, 16), 'Br': (35, 2.96, 4, 17), 'Sr': (38, 0.95, 5, 2), 'Zr': (40, 1.33, 5, 4),
    'Ag': (47, 1.93, 5, 11), 'Sn': (50, 1.96, 5, 14), 'I': (53, 2.66, 5, 17), 'Ba': (56, 0.89, 6, 2),
}

PROPERTIES = ('atomic_number', 'electronegativity', 'period', 'group')
STATISTICS = ('mean', 'variance', 'max', 'min')
FEATURE_NAMES = [f'{s}_{p}' for p in PROPERTIES for s in STATISTICS]


def featurize(fractions: Dict[str, float]) -> List[float]:
    """16 features: mean, variance, max and min of each element property, weighted by fraction."""
    if not isinstance(fractions, dict) or not fractions:
        raise ValueError('give element fractions such as {"Fe": 0.4, "O": 0.6}')
    unknown = sorted(el for el in fractions if el not in ELEMENTS)
    if unknown:
        raise KeyError(f'no element properties for {", ".join(unknown)}; this example knows {", ".join(ELEMENTS)}')
    total = float(sum(fractions.values()))
    if total <= 0:
        raise ValueError('the fractions sum to zero or less')
    weights = {el: float(f) / total for el, f in fractions.items()}
    out: List[float] = []
    for i in range(len(PROPERTIES)):
        values = {el: float(ELEMENTS[el][i]) for el in weights}
        mean = sum(weights[el] * values[el] for el in weights)
        variance = sum(weights[el] * (values[el] - mean) ** 2 for el in weights)
        out.extend([mean, variance, max(values.values()), min(values.values())])
    return out
