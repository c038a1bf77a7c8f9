"""Step-by-step reverse-mode (backpropagation) derivation of a derivative.

Like micrograd's ``engine.py``: every node has a value (its expression in its
parents) and local derivatives side by side; the backward pass multiplies the
adjoint of each node by its local derivatives and sums them into its parents.
"""
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp

from ._validate import InputError, RealVars, as_expr, as_wrt
from .deadline import OutOfTime, run_limited, warm_up


@dataclass(frozen=True)
class Step:
    """One line of the derivation.

    ``kind`` "forward": ``node = expr`` with ``local`` = {parent: d node / d parent}.
    ``kind`` "backward": ``adjoint`` d out / d node = sum over ``terms`` (child,
    d out / d child, d child / d node), simplified, in terms of node symbols.
    """

    kind: str
    node: sp.Symbol
    expr: sp.Expr = None
    local: dict = field(default_factory=dict)
    terms: tuple = ()
    adjoint: sp.Expr = None
    output: sp.Symbol = None
    value: sp.Expr = None
    local_values: dict = None
    grad: sp.Expr = None

    def __str__(self):
        if self.kind == "forward":
            lv = self.local_values or {}
            loc = ", ".join(f"d{self.node}/d{p} = {d}" + (f" = {_num(lv[p])}" if p in lv else "")
                            for p, d in self.local.items())
            val = f" = {_num(self.value)}" if self.value is not None else ""
            return f"{self.node} = {self.expr}{val}" + (f"    [{loc}]" if loc else "")
        o = self.output
        num = f" = {_num(self.grad)}" if self.grad is not None and self.terms else ""
        if not self.terms:
            return f"d{o}/d{self.node} = 1"
        chain = " + ".join(f"d{o}/d{c} * d{c}/d{self.node}" for c, _, _ in self.terms)
        return f"d{o}/d{self.node} = {chain} = {self.adjoint}{num}"


def _num(v):
    try:
        return f"{float(v):.6g}"
    except TypeError:
        return str(v)


@dataclass(frozen=True)
class Explanation:
    """A derivation: ``graph`` (node -> expression), ``steps`` (forward then backward), ``result``."""

    graph: dict
    output: sp.Symbol
    wrt: tuple
    steps: tuple
    result: object

    @property
    def forward(self):
        return tuple(s for s in self.steps if s.kind == "forward")

    @property
    def backward(self):
        return tuple(s for s in self.steps if s.kind == "backward")

    def __str__(self):
        o = self.output
        names = ", ".join(map(str, self.wrt))
        lines = [f"d{o}/d({names}) by the chain rule (reverse mode)", "forward: node = expression   [local derivatives]"]
        lines += [f"  {s}" for s in self.forward]
        lines.append(f"backward: adjoints d{o}/d(node), from {o} down to {names}")
        lines += [f"  {s}" for s in self.backward]
        lines.append("result:")
        res = self.result if len(self.wrt) > 1 else [self.result]
        lines += [f"  d{o}/d{w} = {r}" for w, r in zip(self.wrt, res)]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_latex_(self):
        res = self.result if len(self.wrt) > 1 else [self.result]
        rows = [f"\\frac{{\\partial {sp.latex(self.output)}}}{{\\partial {sp.latex(w)}}} &= {sp.latex(r)}"
                for w, r in zip(self.wrt, res)]
        return "$\\begin{aligned}" + r"\\ ".join(rows) + "\\end{aligned}$"


def _tidy(e, seconds=1.0):
    """The shortest of e, cancel(e), factor(e), simplify(e) found within ``seconds``.

    ``simplify`` can take minutes on nested tanh/sigmoid expressions; a derivation
    that prints a little longer is better than one that never prints. Each
    transform runs in a worker process (:mod:`derive.deadline`), so the limit
    holds in any thread.
    """
    cands = [e]
    warm_up()  # starting a worker (importing SymPy) is not the transforms' time
    end = time.monotonic() + seconds
    for name in ("cancel", "factor", "simplify"):
        if name == "simplify" and sp.count_ops(e) >= 200:
            break
        try:
            cands.append(run_limited(_transform, (name, e), seconds=end - time.monotonic()))
        except OutOfTime:
            break
        except (sp.polys.polyerrors.PolynomialError, NotImplementedError):
            pass
    return min(cands, key=sp.count_ops)


def _transform(name, e):
    return {"cancel": sp.cancel, "factor": sp.factor, "simplify": sp.simplify}[name](e)


def _values(at, r, gr, ws):
    """Numeric value of every input and node, in evaluation order."""
    if not isinstance(at, Mapping):
        raise InputError(f"at must be a mapping {{symbol: number}}, got {type(at).__name__}")
    vals = {r.fwd(k): as_expr(v, f"at[{k}]") for k, v in at.items()}
    for k, e in gr.items():
        v = e.xreplace(vals).evalf()
        missing = v.free_symbols
        if missing:
            raise InputError(f"at gives no value for {', '.join(sorted(str(r.back(m)) for m in missing))} "
                             f"(needed by node {r.back(k)})")
        vals[k] = v
    return vals


def _decompose(expr, wrt):
    """Split ``expr`` into nodes v1, v2, ... (one per sub-expression that depends on ``wrt``)."""
    taken = {s.name for s in expr.free_symbols}
    ws = set(wrt)
    seen, graph = {}, {}

    def fresh():
        k = len(graph) + 1
        while f"v{k}" in taken:
            k += 1
        s = sp.Symbol(f"v{k}")
        taken.add(s.name)
        return s

    def visit(e):
        if not isinstance(e, sp.Expr) or e.is_Atom or not (e.free_symbols & ws):
            return e
        if e in seen:
            return seen[e]
        new = e.func(*[visit(a) if isinstance(a, sp.Expr) else a for a in e.args])
        s = fresh()
        seen[e] = s
        graph[s] = new
        return s

    out = visit(expr)
    if not graph:
        s = fresh()
        graph[s] = expr
        out = s
    return graph, out


def explain(graph, wrt, output=None, at=None):
    """The chain-rule derivation of d(output)/d(wrt) for a graph or a composed expression.

    ``graph`` is an ordered mapping ``{node_symbol: expression}`` in which each
    expression uses inputs and earlier nodes (the last node is the output unless
    ``output`` is given), or a plain expression, which is split into nodes
    v1, v2, ... automatically. ``result`` is an expression for one ``wrt``
    symbol, an n x 1 Matrix for several. With ``at`` (a mapping giving every
    input a number) each step also shows its numeric value, local derivatives
    and gradient, as micrograd prints ``data`` and ``grad``.

    >>> import sympy as sp
    >>> from derive.ml import sigmoid, binary_cross_entropy
    >>> w, x, b, y, z, a, L = sp.symbols("w x b y z a L")
    >>> e = explain({z: w*x + b, a: sigmoid(z), L: binary_cross_entropy(a, y)}, wrt=w)
    >>> e.result
    x*(-y + sigmoid(b + w*x))
    >>> print(e.backward[-2])
    dL/dz = dL/da * da/dz = a - y
    >>> e = explain({z: w*x + b, a: sigmoid(z), L: binary_cross_entropy(a, y)}, wrt=w,
    ...             at={w: 2, x: 1, b: -1, y: 1})
    >>> print(e.forward[1])
    a = sigmoid(z) = 0.731059    [da/dz = a*(1 - a) = 0.196612]
    >>> print(e.backward[-1])
    dL/dw = dL/dz * dz/dw = x*(a - y) = -0.268941
    """
    single = isinstance(wrt, sp.Symbol)
    wrt = as_wrt(wrt)
    if isinstance(graph, Mapping):
        g = {}
        for i, (k, v) in enumerate(graph.items()):
            if not isinstance(k, sp.Symbol):
                raise InputError(f"graph node {i} is named {k!r}, not a sympy Symbol")
            if k in wrt:
                raise InputError(f"graph node {k} is also a variable in wrt; use a different name")
            g[k] = as_expr(v, f"graph[{k}]")
        if not g:
            raise InputError("graph is empty: give at least one node")
        names = list(g)
        for i, k in enumerate(names):
            later = g[k].free_symbols & set(names[i:])
            if later:
                raise InputError(
                    f"node {k} = {g[k]} uses {sorted(map(str, later))}, defined at or after it; "
                    "list nodes in evaluation order"
                )
        out = output if output is not None else names[-1]
        if out not in g:
            raise InputError(f"output {out} is not a node of the graph {names}")
    else:
        expr = as_expr(graph, "graph")
        g, out = _decompose(expr, wrt)
    nodes = list(g)

    r = RealVars(list(g.values()) + nodes, wrt)
    gr = {r.fwd(k): r.fwd(v) for k, v in g.items()}
    ws = [r.fwd(s) for s in wrt]
    rnodes = list(gr)
    rout = r.fwd(out)

    vals = _values(at, r, gr, ws) if at is not None else None
    numeric = (lambda e: r.back(e.xreplace(vals).evalf())) if vals is not None else (lambda e: None)  # noqa: E731

    # which nodes depend on wrt (through earlier nodes)
    dep = set(ws)
    for k in rnodes:
        if gr[k].free_symbols & dep:
            dep.add(k)
    parents = {k: [p for p in rnodes[: rnodes.index(k)] + ws if p in gr[k].free_symbols and p in dep]
               for k in rnodes}
    local = {}
    forward = []
    for k in rnodes:
        if k not in dep:
            continue
        # the textbook form of a local derivative is the raw one; tidy only when it is long
        local[k] = {}
        for p in parents[k]:
            d = sp.diff(gr[k], p).xreplace({gr[k]: k})
            local[k][p] = _tidy(d) if sp.count_ops(d) > 40 else d
        forward.append(Step(
            "forward", r.back(k), r.back(gr[k]), {r.back(p): r.back(d) for p, d in local[k].items()},
            value=numeric(k),
            local_values=None if vals is None else {r.back(p): numeric(d) for p, d in local[k].items()},
        ))

    # backward pass: adjoint of a node = sum over children of adjoint(child) * local(child, node)
    adj = {rout: sp.S.One}
    backward = [Step("backward", r.back(rout), adjoint=sp.S.One, output=r.back(rout))]
    order = rnodes[: rnodes.index(rout) + 1]
    targets = [k for k in reversed(order) if k in dep and k != rout] + ws
    for k in targets:
        terms = [(c, adj[c], local[c][k]) for c in reversed(order) if c in adj and c in local and k in local[c]]
        if not terms:
            adj[k] = sp.S.Zero
            continue
        raw = sp.Add(*[a * d for _, a, d in terms])
        adj[k] = raw if len(terms) == 1 and terms[0][1] == 1 else _tidy(raw)
        backward.append(Step(
            "backward", r.back(k), terms=tuple((r.back(c), r.back(a), r.back(d)) for c, a, d in terms),
            adjoint=r.back(adj[k]), output=r.back(rout), grad=numeric(adj[k]),
        ))

    def expand_nodes(e):
        for k in reversed(rnodes):
            e = e.xreplace({k: gr[k]})
        return e

    results = [r.back(_tidy(expand_nodes(adj.get(w, sp.S.Zero)))) for w in ws]
    result = results[0] if single else sp.Matrix(results)
    return Explanation(
        graph={r.back(k): r.back(v) for k, v in gr.items()},
        output=r.back(rout), wrt=wrt, steps=tuple(forward + backward), result=result,
    )
