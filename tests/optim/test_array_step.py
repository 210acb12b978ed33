"""The array path (optim/array_step.py) against the plain rule (`step_by_rule`), bit for bit.

Each test runs two optimizers side by side on two copies of the same parameters: one
with ``plain_rule = True`` (the rule as its docstring writes it, one parameter at a time
in Python floats), one as a user gets it (the array path). After every step both
parameters' data and both states must be the same floats to the bit (any nan counts as
nan), over random options, gradients (None, 0, -0.0, nan, inf, tiny, huge included),
groups, and what a user does between steps: reading or editing ``opt.state``, a
``state_dict`` round trip, a changed option.
"""

import json
import math
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minitorch_scalar import Value
from optim import SGD, Adam, AdamW, array_step


def bits(x):
    """A number's identity to the bit: nan as one, an int as itself."""
    if isinstance(x, float):
        return "nan" if math.isnan(x) else struct.pack("<d", x)
    return (type(x).__name__, x)


def state_bits(opt, params):
    """Each parameter's state (key -> bits), None where it has none, in order."""
    state = opt.state
    return [None if p not in state else {k: bits(v) for k, v in state[p].items()} for p in params]


def assert_same(plain, fast):
    """The two optimizers' parameters and states are the same, to the bit."""
    (opt_a, params_a), (opt_b, params_b) = plain, fast
    assert [bits(p.data) for p in params_a] == [bits(p.data) for p in params_b]
    assert state_bits(opt_a, params_a) == state_bits(opt_b, params_b)


def side_by_side(make, initial, groups_of=None):
    """(plain, fast): each an (optimizer, its parameters), made by `make(params)` from the
    same initial data; `groups_of(params)` turns the parameters into groups if given."""
    pairs = []
    for plain_rule in (True, False):
        params = [Value(x) for x in initial]
        opt = make(groups_of(params) if groups_of else params)
        opt.plain_rule = plain_rule
        pairs.append((opt, params))
    return pairs[0], pairs[1]


def set_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad = g


NUMBERS = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, 5e-324]),
)
GRADS = st.one_of(
    NUMBERS,
    NUMBERS,
    NUMBERS,
    st.none(),
    st.sampled_from([math.inf, -math.inf, math.nan]),
)
RATES = st.one_of(st.floats(0.0, 2.0), st.sampled_from([0.0, 1e-3, 0.1]))
UNIT = st.one_of(st.floats(0.0, 0.999999), st.sampled_from([0.0, 0.5, 0.9, 0.999]))


@st.composite
def sgd_options(draw):
    options = {
        "lr": draw(RATES),
        "momentum": draw(st.one_of(st.just(0.0), st.floats(0.0, 1.5))),
        "dampening": draw(st.one_of(st.just(0.0), st.floats(-1.0, 1.0))),
        "weight_decay": draw(st.one_of(st.just(0.0), st.floats(0.0, 1.0))),
        "maximize": draw(st.booleans()),
    }
    options["nesterov"] = (
        options["momentum"] > 0 and options["dampening"] == 0 and draw(st.booleans())
    )
    return options


@st.composite
def adam_options(draw):
    return {
        "lr": draw(RATES),
        "betas": (draw(UNIT), draw(UNIT)),
        "eps": draw(st.one_of(st.sampled_from([0.0, 1e-8]), st.floats(0.0, 1.0))),
        "weight_decay": draw(st.one_of(st.just(0.0), st.floats(0.0, 1.0))),
        "amsgrad": draw(st.booleans()),
        "maximize": draw(st.booleans()),
        "decoupled_weight_decay": draw(st.booleans()),
    }


@st.composite
def problems(draw):
    """(the optimizer's class, its options, initial data, rows of gradients, a split of
    the parameters into two groups or None, and what happens between steps)."""
    kind = draw(st.sampled_from(["sgd", "adam", "adamw"]))
    if kind == "sgd":
        cls, options = SGD, draw(sgd_options())
    else:
        cls, options = (Adam if kind == "adam" else AdamW), draw(adam_options())
        if kind == "adamw":
            del options["decoupled_weight_decay"]
    count = draw(st.integers(1, 7))
    initial = draw(st.lists(NUMBERS, min_size=count, max_size=count))
    steps = draw(st.integers(1, 6))
    grads = draw(st.lists(st.lists(GRADS, min_size=count, max_size=count), min_size=steps))
    split = draw(st.one_of(st.none(), st.integers(1, count))) if count > 1 else None
    between = draw(
        st.lists(
            st.sampled_from(["nothing", "read", "edit", "reload", "option"]),
            min_size=len(grads),
            max_size=len(grads),
        )
    )
    return cls, options, initial, grads, split, between


def two_groups(split):
    def groups_of(params):
        if split is None or split >= len(params):
            return params
        return [{"params": params[:split]}, {"params": params[split:], "lr": 0.05}]

    return groups_of


def between_steps(what, opt, params):
    """What a user may do between two steps, done the same on both optimizers."""
    if what == "read":
        for p in params:
            if p in opt.state:
                float(opt.state[p].get("exp_avg", opt.state[p].get("momentum_buffer", 0.0)))
    elif what == "edit":
        for p in params[:1]:
            for key, value in opt.state.get(p, {}).items():
                if isinstance(value, float) and math.isfinite(value):
                    opt.state[p][key] = value * 0.5
    elif what == "reload":
        opt.load_state_dict(json.loads(json.dumps(opt.state_dict(), allow_nan=True)))
    elif what == "option":
        group = opt.param_groups[-1]
        group["lr"] *= 0.5
        if "amsgrad" in group:
            group["amsgrad"] = not group["amsgrad"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_array_path_gives_the_plain_rules_bits(problem):
    cls, options, initial, grads, split, between = problem
    plain, fast = side_by_side(lambda p: cls(p, **options), initial, two_groups(split))
    for row, what in zip(grads, between):
        for opt, params in (plain, fast):
            set_grads(params, row)
            opt.step()
        if what in ("reload",) and not all(
            math.isfinite(v) for s in plain[0].state.values() for v in s.values()
        ):
            what = "nothing"  # a state with nan or inf is refused by load_state_dict
        for opt, params in (plain, fast):
            between_steps(what, opt, params)
        assert_same(plain, fast)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: SGD(p, lr=0.1, momentum=0.9),
        lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda p: Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1),
        lambda p: AdamW(p, lr=0.01),
    ],
    ids=["sgd", "nesterov", "adam", "adamw"],
)
def test_the_array_path_runs_and_keeps_its_state_in_arrays(make):
    """Over many steps the fast optimizer steps on arrays (its state is kept there, not
    in opt.state) and gives the plain rule's bits; reading opt.state hands it back."""
    rng = np.random.default_rng(0)
    initial = rng.normal(size=50).tolist()
    plain, fast = side_by_side(make, initial)
    for _ in range(40):
        row = (rng.normal(size=50) * np.logspace(-4, 3, 50)).tolist()
        for opt, params in (plain, fast):
            set_grads(params, row)
            opt.step()
        assert plain[0].state_arrays is None
        assert fast[0].state_arrays is not None
        assert [bits(p.data) for p in plain[1]] == [bits(p.data) for p in fast[1]]
    assert_same(plain, fast)
    assert fast[0].state_arrays is None  # opt.state was read: the dicts hold the state


def test_a_dict_read_from_opt_state_is_the_one_kept_up_to_date():
    params = [Value(1.0), Value(2.0)]
    opt = Adam(params, lr=0.1)
    set_grads(params, [0.5, -0.5])
    opt.step()
    held = opt.state[params[0]]
    opt.step()
    assert held["step"] == 1  # not yet read: the arrays hold step 2
    assert opt.state[params[0]] is held and held["step"] == 2


def test_an_edit_of_opt_state_between_steps_counts():
    plain, fast = side_by_side(lambda p: SGD(p, lr=0.1, momentum=0.9), [1.0, 2.0, 3.0])
    for opt, params in (plain, fast):
        set_grads(params, [0.5, -0.25, 1.0])
        opt.step()
        opt.state[params[1]]["momentum_buffer"] = 10.0
        del opt.state[params[2]]
        opt.step()
    assert_same(plain, fast)
    assert plain[1][2].data == 3.0 - 0.1 * 1.0 - 0.1 * 1.0  # a fresh buffer, twice


def test_a_new_group_between_steps():
    plain, fast = side_by_side(lambda p: Adam(p[:2], lr=0.1), [1.0, 2.0, 3.0])
    for opt, params in (plain, fast):
        set_grads(params, [0.5, -0.25, 1.0])
        opt.step()
        opt.add_param_group({"params": [params[2]], "lr": 0.01})
        opt.step()
        opt.step()
    assert_same(plain, fast)
    assert plain[0].state[plain[1][2]]["step"] == 2


@pytest.mark.parametrize("make", [lambda p: SGD(p, lr=0.1, momentum=0.9), Adam], ids=str)
def test_a_failed_step_changes_nothing(make):
    """A bad option or gradient while the state is in arrays: an error naming it, and
    the parameters and the state as they were (the run then goes on as the plain rule's)."""
    runs = []
    for plain_rule in (True, False):
        params = [Value(1.0), Value(2.0), Value(3.0)]
        opt = make([{"params": params[:2]}, {"params": params[2:]}])
        opt.plain_rule = plain_rule
        set_grads(params, [0.5, -0.25, 1.0])
        opt.step()
        opt.step()  # the fast one's state is in arrays now
        before = [bits(p.data) for p in params]
        lr, opt.param_groups[1]["lr"] = opt.param_groups[1]["lr"], -1.0
        with pytest.raises(ValueError, match=r"param_groups\[1\]\['lr'\]"):
            opt.step()
        opt.param_groups[1]["lr"] = lr
        params[2].grad = "1.0"
        with pytest.raises(TypeError, match=r"param_groups\[1\]\['params'\]\[0\]\.grad"):
            opt.step()
        assert [bits(p.data) for p in params] == before
        params[2].grad = 1.0
        opt.step()
        runs.append((opt, params))
    assert_same(*runs)
    assert runs[0][0].state[runs[0][1][2]].get("step", 3) == 3


def test_grads_that_are_ints_or_numpy_floats_step_as_the_plain_rule_steps():
    plain, fast = side_by_side(lambda p: Adam(p, lr=0.1), [1.0, 2.0])
    for opt, params in (plain, fast):
        set_grads(params, [1, np.float64(0.25)])
        opt.step()
        set_grads(params, [0.5, 0.25])
        opt.step()
        assert type(params[0].grad) is float
    assert_same(plain, fast)


def test_bias_corrections_are_the_python_floats_of_each_step_count():
    t = np.array([3, 1, 3, 2])
    corrections = array_step.bias_corrections(t, lambda step: 0.1 / (1 - 0.9**step))
    assert corrections.tolist() == [0.1 / (1 - 0.9**k) for k in (3, 1, 3, 2)]
    assert array_step.bias_corrections(np.array([5, 5]), lambda step: step / 3) == 5 / 3


@pytest.mark.parametrize("make", [lambda p: SGD(p, lr=0.1, momentum=0.9), Adam], ids=str)
def test_switching_between_the_rule_and_the_arrays_mid_run(make):
    """One optimizer stepping by turns on the plain rule and on arrays ends where an
    optimizer on the plain rule alone ends, to the bit."""
    rng = np.random.default_rng(3)
    plain, mixed = side_by_side(make, rng.normal(size=9).tolist())
    for k in range(12):
        mixed[0].plain_rule = k % 3 == 1
        row = [None if k % 4 == i % 4 else float(g) for i, g in enumerate(rng.normal(size=9))]
        for opt, params in (plain, mixed):
            set_grads(params, row)
            opt.step()
    assert_same(plain, mixed)
