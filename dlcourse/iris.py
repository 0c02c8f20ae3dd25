"""The Iris data set as float32 arrays (chapters 02, 03 and 04).

scikit-learn ships Iris inside the package, so nothing is downloaded.
"""

import numpy as np
from sklearn.datasets import load_iris

FEATURE_NAMES_JA = ("がく片の長さ (cm)", "がく片の幅 (cm)", "花弁の長さ (cm)", "花弁の幅 (cm)")
SPECIES_NAMES = ("setosa", "versicolor", "virginica")


def load_iris_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)``: the 150 x 4 measurements as float32 and the species as int64."""
    iris = load_iris()
    return iris.data.astype(np.float32), iris.target.astype(np.int64)
