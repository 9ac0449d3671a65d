"""Summary statistics of a list of numbers, written in plain Python (standard library only)."""
import math
import statistics
from typing import List


def summarize(values: List[float]) -> dict:
    """Count, mean, standard deviation, minimum, median and maximum of a list of numbers.

    The standard deviation is the sample one (n - 1); it is 0.0 for a single value.
    """
    if len(values) == 0:
        raise ValueError('values is empty: give at least one number')
    finite = [float(v) for v in values]
    if not all(math.isfinite(v) for v in finite):
        raise ValueError('values holds NaN or infinity')
    return {
        'count': len(finite),
        'mean': statistics.fmean(finite),
        'std': statistics.stdev(finite) if len(finite) > 1 else 0.0,
        'min': min(finite),
        'median': statistics.median(finite),
        'max': max(finite),
    }
