"""Property tests: random expression trees, backward against central differences.

The trees use smooth ops only (relu's kink is tested on its own) and keep every
operand in a range where the op is defined: log(e^2 + 1), e1 / (e2^2 + 1),
(e1^2 + 1) ** tanh(e2), exp(tanh(e)), so any tree hypothesis draws is valid.
"""

import operator

from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch_scalar as ms
from minitorch_scalar import Value, gradcheck

N_INPUTS = 3

UNARY = {
    "neg": operator.neg,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "exp": lambda e: e.tanh().exp(),
    "log": lambda e: (e * e + 1).log(),
    "cube": lambda e: e.tanh() ** 3,
    "rpow": lambda e: 2 ** e.tanh(),
    "rdiv": lambda e: 1.5 / (e * e + 1),
    "rsub": lambda e: 0.5 - e,
}
BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": lambda e1, e2: e1 / (e2 * e2 + 1),
    "pow": lambda e1, e2: (e1 * e1 + 1) ** e2.tanh(),
    "sum": lambda e1, e2: ms.sum([e1, 2.0, e2, e1]),
    "dot": lambda e1, e2: ms.dot([e1, 0.5], [e2, e1], bias=e2),
}

leaves = st.one_of(
    st.tuples(st.just("input"), st.integers(0, N_INPUTS - 1)),
    st.tuples(st.just("constant"), st.floats(-2.0, 2.0)),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.tuples(st.sampled_from(sorted(UNARY)), children),
        st.tuples(st.sampled_from(sorted(BINARY)), children, children),
    ),
    max_leaves=12,
)
points = st.lists(st.floats(-2.0, 2.0), min_size=N_INPUTS, max_size=N_INPUTS)
# Scaling by a power of two is exact for normal numbers only: a subnormal term keeps
# fewer bits, so it rounds differently once scaled. Inputs are 0 or at least 1e-3.
normal_points = st.lists(
    st.one_of(st.just(0.0), st.floats(1e-3, 2.0), st.floats(-2.0, -1e-3)),
    min_size=N_INPUTS,
    max_size=N_INPUTS,
)


def evaluate(tree: tuple, inputs: list[Value]) -> Value:
    """The tree's value, with `inputs` at the ("input", i) leaves.

    Constant leaves become Values of their own (not checked by gradcheck); the ops
    themselves mix in plain numbers, so folded constants are exercised too.
    """
    kind = tree[0]
    if kind == "input":
        return inputs[tree[1]]
    if kind == "constant":
        return Value(tree[1])
    args = [evaluate(child, inputs) for child in tree[1:]]
    return (UNARY if len(args) == 1 else BINARY)[kind](*args)


def as_function(tree: tuple):
    def fn(*inputs: Value) -> Value:
        return evaluate(tree, list(inputs))

    return fn


@settings(max_examples=150, deadline=None)
@given(trees, points)
def test_backward_agrees_with_central_differences(tree: tuple, point: list[float]) -> None:
    inputs = [Value(p) for p in point]
    assert gradcheck(as_function(tree), inputs, atol=1e-5, rtol=1e-4)


@settings(max_examples=60, deadline=None)
@given(trees, normal_points, st.sampled_from([-4.0, -2.0, -1.0, 2.0, 4.0]))
def test_gradients_are_linear_in_the_seed_and_add_up_over_calls(tree, point, seed) -> None:
    """A second call doubles every leaf's gradient exactly (a call's terms are summed on
    their own, then added to what the leaf held); a seed that is a power of two scales
    every term, and so every sum, exactly, while no term is subnormal. (Another seed
    scales each term with its own rounding, and where terms cancel, as in x - x + x^3,
    that rounding has no bound relative to the result: no tolerance would be right.)"""
    fn = as_function(tree)
    inputs = [Value(p) for p in point]
    out = fn(*inputs)
    out.backward()
    once = [x.grad for x in inputs]
    out.backward()
    assert [x.grad for x in inputs] == [2 * g for g in once]
    for x in inputs:
        x.grad = 0.0
    out.backward(seed)
    assert [x.grad for x in inputs] == [seed * g for g in once]
