"""The dual objective of every one-vs-one problem of a fitted SVC, recomputed in float64
from its libsvm-layout dual coefficients: the oracle the SVM tests compare ours and
scikit-learn's models with (it works for both)."""
import numpy as np
import scipy.sparse


def ovo_objectives(model, K_sv):
    """e^T a - 1/2 a^T Q a per one-vs-one problem; K_sv is the Gram matrix of the model's
    support vectors (in support_ order)."""
    dc = model.dual_coef_
    dc = dc.toarray() if scipy.sparse.issparse(dc) else dc   # sklearn's, after a sparse fit
    n_cls = len(model.classes_)
    bounds = np.concatenate([[0], np.cumsum(model.n_support_)])
    out = []
    for i in range(n_cls):
        for j in range(i + 1, n_cls):
            ii = np.arange(bounds[i], bounds[i + 1])
            jj = np.arange(bounds[j], bounds[j + 1])
            idx = np.concatenate([ii, jj])
            a = np.concatenate([dc[j - 1, ii], dc[i, jj]])
            out.append(np.abs(a).sum() - 0.5 * a @ K_sv[np.ix_(idx, idx)] @ a)
    return np.array(out)
