"""The gradient-descent family: gd, momentum, nesterov, adagrad, rmsprop, adam, adamw.

One Numba loop serves every rule (a rule code selects the update), with learning-rate
schedules, gradient clipping (global norm / by value), mini-batches over the rows of a data
objective (reproducible with ``seed``), and divergence detection.

Update rules follow PyTorch's conventions (momentum buffer v = beta v + g, step lr v), so
hyper-parameters carry over. With ``bounds=`` every step is projected onto the box and
stationarity is the projected gradient ``max|P(x - g) - x|`` (projected gradient descent).
"""
import numpy as np
from numba import njit
from numba.extending import overload

from .adapter import as_kernels, as_x0, check_length
from .bounds import bound_fields, parse_bounds, project_x0
from .loop import drive, finish, to_result
from .numba_shims import batch_args, data_rows, stop_status
from .options import check, check_common
from .schedules import as_schedule, schedule_lr, plateau_update, PLATEAU
from .termination import accept, start, CONTINUE, NONFINITE, DIVERGED

__all__ = ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]

GD, MOMENTUM, NESTEROV, ADAGRAD, RMSPROP, ADAM, ADAMW = range(7)
_RULES = {"gd": GD, "momentum": MOMENTUM, "nesterov": NESTEROV, "adagrad": ADAGRAD,
          "rmsprop": RMSPROP, "adam": ADAM, "adamw": ADAMW}


def _seeded_rng(seed):
    """The row-shuffling generator: seeded when ``seed >= 0``.

    The Python loop (callback runs) draws from its own ``RandomState``, which gives the same
    permutations as Numba's generator seeded alike, and leaves NumPy's global state alone.
    """
    return np.random.RandomState(seed) if seed >= 0 else np.random.mtrand._rand


@overload(_seeded_rng)
def _seeded_rng_impl(seed):
    def impl(seed):  # nopython: Numba's own (per-thread) generator
        if seed >= 0:
            np.random.seed(seed)
        return 0
    return impl


def _permutation(rng, n):
    return rng.permutation(n)


@overload(_permutation)
def _permutation_impl(rng, n):
    return lambda rng, n: np.random.permutation(n)


@njit(cache=True)
def _clip(g, clip_value, clip_norm):
    """Clip g in place: each entry to [-clip_value, clip_value], then the norm to clip_norm."""
    n = g.shape[0]
    if clip_value > 0.0:
        for i in range(n):
            g[i] = min(max(g[i], -clip_value), clip_value)
    if clip_norm > 0.0:
        s = 0.0
        for i in range(n):
            s += g[i] * g[i]
        s = np.sqrt(s)
        if s > clip_norm:
            for i in range(n):
                g[i] *= clip_norm / s


@njit(cache=True)
def _update(rule, x, g, m, v, lr, beta1, beta2, eps, wd, t):
    """One step of ``rule`` in place on x (and its state m, v); returns the step length.

    Written as one element loop: no temporaries, and far quicker for Numba to compile than
    the equivalent array expressions.
    """
    bc1 = 1.0 - beta1 ** t
    bc2 = 1.0 - beta2 ** t
    step2 = 0.0
    for i in range(x.shape[0]):
        gi = g[i]
        xi = x[i]
        if rule == MOMENTUM:
            m[i] = beta1 * m[i] + gi
            xn = xi - lr * m[i]
        elif rule == NESTEROV:
            m[i] = beta1 * m[i] + gi
            xn = xi - lr * (gi + beta1 * m[i])
        elif rule == ADAGRAD:
            v[i] += gi * gi
            xn = xi - lr * gi / (np.sqrt(v[i]) + eps)
        elif rule == RMSPROP:
            v[i] = beta2 * v[i] + (1.0 - beta2) * gi * gi
            xn = xi - lr * gi / (np.sqrt(v[i]) + eps)
        elif rule == ADAM or rule == ADAMW:
            xd = xi * (1.0 - lr * wd) if rule == ADAMW else xi  # decoupled decay (Loshchilov & Hutter)
            m[i] = beta1 * m[i] + (1.0 - beta1) * gi
            v[i] = beta2 * v[i] + (1.0 - beta2) * gi * gi
            xn = xd - lr * (m[i] / bc1) / (np.sqrt(v[i] / bc2) + eps)
        else:
            xn = xi - lr * gi
        step2 += (xn - xi) * (xn - xi)
        x[i] = xn
    return np.sqrt(step2)


@njit(cache=True)
def _into_box(x, lo, hi):
    """Project x onto the box in place (no box: lo is empty)."""
    for i in range(lo.shape[0]):
        x[i] = min(max(x[i], lo[i]), hi[i])


@njit(cache=True)
def _stationarity(x, g, lo, hi):
    """What the convergence test measures: g, or in a box the projected step P(x - g) - x
    (NaN/inf gradient entries kept, so the test still sees them)."""
    if lo.shape[0] == 0:
        return g
    r = np.empty_like(g)
    for i in range(g.shape[0]):
        r[i] = min(max(x[i] - g[i], lo[i]), hi[i]) - x[i] if np.isfinite(g[i]) else g[i]
    return r


def _gd_loop(vg, kargs, x0, rule, hp, sched_code, sched_p, batch_size, seed, sum_reduced,
             maxiter, gtol, ftol, div_factor, lo, hi, cb):
    lr, beta1, beta2, eps, wd, clip_norm, clip_value = hp[0], hp[1], hp[2], hp[3], hp[4], hp[5], hp[6]
    n = x0.shape[0]
    x = x0.copy()
    rows_all = data_rows(kargs)
    N = rows_all.shape[0]
    minibatch = batch_size > 0 and N > 0 and batch_size < N
    spe = (N + batch_size - 1) // batch_size if minibatch else 1  # steps per epoch
    rng = _seeded_rng(seed)
    perm = np.arange(N)
    m = np.zeros(n)
    v = np.zeros(n)
    f, g = vg(x, *kargs)
    nfev = 1
    f0 = f
    hist_f, hist_g, status = start(f, _stationarity(x, g, lo, hi), maxiter // spe + 2, gtol)
    nh = 1
    plateau = np.array([np.inf, 0.0, 1.0])
    pscale = 1.0
    k = 0
    if status == CONTINUE:
        while k < maxiter:
            if minibatch:
                j = k % spe
                if j == 0:
                    perm = _permutation(rng, N)
                stop = min((j + 1) * batch_size, N)
                rb = rows_all[perm[j * batch_size:stop]]
                fb, gs = vg(x, *batch_args(kargs, rb))
                nfev += 1
                if sum_reduced:  # unbiased estimate of the gradient of the full sum
                    gs = gs * (N / rb.shape[0])
            else:
                gs = g.copy()
            step_lr = schedule_lr(sched_code, sched_p, k, lr)
            if sched_code == PLATEAU:
                step_lr = max(lr * pscale, sched_p[3])
            _clip(gs, clip_value, clip_norm)
            step = _update(rule, x, gs, m, v, step_lr, beta1, beta2, eps, wd, k + 1)
            _into_box(x, lo, hi)
            k += 1
            if (not minibatch) or k % spe == 0 or k == maxiter:
                f_old = f
                f, g = vg(x, *kargs)
                nfev += 1
                status = accept(hist_f, hist_g, nh, f_old, f, _stationarity(x, g, lo, hi), step, x,
                                gtol, ftol, 0.0)
                nh += 1
                if status == NONFINITE or f > f0 + div_factor * (1.0 + abs(f0)):
                    # f0 passed the finiteness test at x0: a NaN/inf now is the run blowing up
                    status = DIVERGED
                    break
                if sched_code == PLATEAU:
                    pscale = plateau_update(plateau, f, sched_p)
                status = stop_status(cb, status, k, x, f, hist_g[nh - 1])
                if status != CONTINUE:
                    break
    return finish(x, f, g, k, nfev, 0, status, hist_f, hist_g, nh)


def _run(method, objective, x0, *, lr, beta1=0.0, beta2=0.0, eps=0.0, weight_decay=0.0, args=(),
         schedule=None, clip_norm=None, clip_value=None, batch_size=None, seed=0, epochs=None,
         maxiter=10000, gtol=1e-6, ftol=0.0, divergence=1e8, callback=None, history=False,
         wrt=None, rows=None, bounds=None):
    o = check(method, lr=lr, clip_norm=clip_norm, clip_value=clip_value, batch_size=batch_size,
              seed=seed, epochs=epochs, maxiter=maxiter, gtol=gtol, ftol=ftol,
              divergence=divergence)
    check_common(method, callback, history)
    sched = as_schedule(schedule)
    x = as_x0(x0)
    kern = as_kernels(objective, args, wrt, rows, n=x.shape[0])
    x = check_length(x, kern.n)
    box = parse_bounds(bounds, kern.n)
    x, moved = project_x0(x, box, method)
    bs = o["batch_size"] or 0
    if bs and not kern.has_data:
        raise ValueError(f"{method}: batch_size needs a data objective (codegen.compile(..., data=)); "
                         f"this objective has no data rows")
    maxiter = o["maxiter"]
    if o["epochs"] is not None:
        spe = -(-kern.n_rows // bs) if (bs and bs < kern.n_rows) else 1
        maxiter = o["epochs"] * spe
    hp = np.array([o["lr"], beta1, beta2, eps, weight_decay, o["clip_norm"] or 0.0,
                   o["clip_value"] or 0.0])
    rest = (_RULES[method], hp, int(sched.code), np.ascontiguousarray(sched.params(), dtype=float),
            bs, -1 if o["seed"] is None else o["seed"], bool(kern.sum_reduced), maxiter,
            o["gtol"], o["ftol"], o["divergence"])
    rest += (np.empty(0), np.empty(0)) if box is None else (box.lo, box.hi)
    out = drive(_gd_loop, kern, (kern.vg,), x, rest, callback)
    fields = {} if box is None else bound_fields(out.x, out.g, box, o["gtol"], moved)
    if bs and bs < kern.n_rows:  # the loop records the full objective once per epoch
        fields["history_unit"] = "epoch"
    return to_result(out, kern, method, history, **fields)


_COMMON = """
    Common options: ``schedule`` (a :mod:`solvers.schedules` object or name), ``clip_norm`` /
    ``clip_value`` (gradient clipping), ``batch_size`` / ``seed`` / ``epochs`` (mini-batches over
    the rows of a data objective; ``maxiter`` counts steps), ``gtol`` / ``ftol`` (checked on the
    full objective after every step, or every epoch with mini-batches), ``divergence`` (stop with
    status DIVERGED once f > f0 + divergence * (1 + |f0|)), ``callback``, ``history``,
    ``bounds`` (SciPy's forms: every step is projected onto the box, gtol bounds the projected
    gradient, and the Result adds ``mu_lower``, ``mu_upper``, ``kkt``, ``x0_projected``).
"""


def gd(objective, x0, *, lr=1e-2, **options):
    """Plain gradient descent: x -= lr g."""
    return _run("gd", objective, x0, lr=lr, **options)


def momentum(objective, x0, *, lr=1e-2, beta=0.9, **options):
    """Heavy-ball momentum: v = beta v + g; x -= lr v."""
    beta = check("momentum", beta=beta)["beta"]
    return _run("momentum", objective, x0, lr=lr, beta1=beta, **options)


def nesterov(objective, x0, *, lr=1e-2, beta=0.9, **options):
    """Nesterov momentum (Sutskever form): v = beta v + g; x -= lr (g + beta v)."""
    beta = check("nesterov", beta=beta)["beta"]
    return _run("nesterov", objective, x0, lr=lr, beta1=beta, **options)


def adagrad(objective, x0, *, lr=1e-2, eps=1e-10, **options):
    """AdaGrad: G += g^2; x -= lr g / (sqrt(G) + eps)."""
    eps = check("adagrad", eps=eps)["eps"]
    return _run("adagrad", objective, x0, lr=lr, eps=eps, **options)


def rmsprop(objective, x0, *, lr=1e-2, rho=0.99, eps=1e-8, **options):
    """RMSProp: E = rho E + (1 - rho) g^2; x -= lr g / (sqrt(E) + eps)."""
    o = check("rmsprop", rho=rho, eps=eps)
    rho, eps = o["rho"], o["eps"]
    return _run("rmsprop", objective, x0, lr=lr, beta2=rho, eps=eps, **options)


def adam(objective, x0, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, **options):
    """Adam with bias correction (Kingma & Ba 2015, Alg. 1).

    m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; x -= lr m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps).
    """
    o = check("adam", beta1=beta1, beta2=beta2, eps=eps)
    beta1, beta2, eps = o["beta1"], o["beta2"], o["eps"]
    return _run("adam", objective, x0, lr=lr, beta1=beta1, beta2=beta2, eps=eps, **options)


def adamw(objective, x0, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2,
          **options):
    """AdamW: x *= (1 - lr * weight_decay) (decoupled), then the Adam step."""
    o = check("adamw", beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)
    beta1, beta2, eps, weight_decay = o["beta1"], o["beta2"], o["eps"], o["weight_decay"]
    return _run("adamw", objective, x0, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                weight_decay=weight_decay, **options)


for _f in (gd, momentum, nesterov, adagrad, rmsprop, adam, adamw):
    _f.__doc__ += _COMMON
del _f
