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
from .smoothness import almost_everywhere_note


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
    #: "derivative taken almost everywhere: ..." when the function has kinks (Abs, Max...), else None
    note: str = None

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
        if self.note:
            lines.append(f"note: {self.note}")
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


def _values(at, r, gr):
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


def _checked_graph(graph, wrt, output):
    """``(nodes, output)``: the user's graph checked (or an expression split into nodes)."""
    if not isinstance(graph, Mapping):
        return _decompose(as_expr(graph, "graph"), wrt)
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
    return g, out


@dataclass
class _Graph:
    """The graph in real variables (see :class:`~derive._validate.RealVars`), with what both passes read.

    ``dep`` holds the variables and the nodes that depend on them (through earlier
    nodes), ``parents[k]`` the earlier nodes and variables node k uses that are in
    ``dep``, ``vals`` the numeric value of every node (None without ``at``).
    """

    r: RealVars
    nodes: dict
    ws: list
    out: sp.Symbol
    vals: dict = None
    dep: set = field(default_factory=set)
    parents: dict = field(default_factory=dict)

    @classmethod
    def build(cls, g, out, wrt, at):
        r = RealVars(list(g.values()) + list(g), wrt)
        gr = {r.fwd(k): r.fwd(v) for k, v in g.items()}
        G = cls(r, gr, [r.fwd(s) for s in wrt], r.fwd(out))
        G.vals = _values(at, r, gr) if at is not None else None
        G.dep = set(G.ws)
        for k in gr:
            if gr[k].free_symbols & G.dep:
                G.dep.add(k)
        order = list(gr)
        G.parents = {k: [p for p in order[: order.index(k)] + G.ws
                         if p in gr[k].free_symbols and p in G.dep] for k in order}
        return G

    def numeric(self, e):
        """The value of ``e`` at ``at`` in the user's symbols (None without ``at``)."""
        return None if self.vals is None else self.r.back(e.xreplace(self.vals).evalf())

    def expanded(self, e):
        """``e`` with every node replaced by its expression in the inputs."""
        for k in reversed(list(self.nodes)):
            e = e.xreplace({k: self.nodes[k]})
        return e


def _forward(G):
    """The local derivatives d node / d parent of every node that depends on wrt, and their steps."""
    back = G.r.back
    local, steps = {}, []
    for k, e in G.nodes.items():
        if k not in G.dep:
            continue
        # the textbook form of a local derivative is the raw one; tidy only when it is long
        local[k] = {}
        for p in G.parents[k]:
            d = sp.diff(e, p).xreplace({e: k})
            local[k][p] = _tidy(d) if sp.count_ops(d) > 40 else d
        steps.append(Step(
            "forward", back(k), back(e), {back(p): back(d) for p, d in local[k].items()},
            value=G.numeric(k),
            local_values=None if G.vals is None else {back(p): G.numeric(d) for p, d in local[k].items()},
        ))
    return local, steps


def _backward(G, local):
    """Adjoints d out / d node from the output down to wrt, and their steps.

    The adjoint of a node is the sum over its children of adjoint(child) * local(child, node).
    """
    back = G.r.back
    adj = {G.out: sp.S.One}
    steps = [Step("backward", back(G.out), adjoint=sp.S.One, output=back(G.out))]
    names = list(G.nodes)
    order = names[: names.index(G.out) + 1]
    targets = [k for k in reversed(order) if k in G.dep and k != G.out] + G.ws
    for k in targets:
        terms = [(c, adj[c], local[c][k]) for c in reversed(order) if c in adj and c in local and k in local[c]]
        if not terms:
            adj[k] = sp.S.Zero
            continue
        raw = sp.Add(*[a * d for _, a, d in terms])
        adj[k] = raw if len(terms) == 1 and terms[0][1] == 1 else _tidy(raw)
        steps.append(Step(
            "backward", back(k), terms=tuple((back(c), back(a), back(d)) for c, a, d in terms),
            adjoint=back(adj[k]), output=back(G.out), grad=G.numeric(adj[k]),
        ))
    return adj, steps


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
    g, out = _checked_graph(graph, wrt, output)
    G = _Graph.build(g, out, wrt, at)
    local, forward = _forward(G)
    adj, backward = _backward(G, local)
    back = G.r.back
    results = [back(_tidy(G.expanded(adj.get(w, sp.S.Zero)))) for w in G.ws]
    note = almost_everywhere_note(back(G.expanded(G.out)), wrt, sp.Matrix(results))
    return Explanation(
        graph={back(k): back(v) for k, v in G.nodes.items()},
        output=back(G.out), wrt=wrt, steps=tuple(forward + backward),
        result=results[0] if single else sp.Matrix(results), note=note,
    )
