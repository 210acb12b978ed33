"""Parameter groups as PyTorch's: groups with their own options, param_groups edits, errors.

The numbers are checked against torch in test_param_groups_torch_parity.py; here: the
defaults-filling rule, that an edit of ``param_groups`` is read by the next step, that
every bad group is refused naming where, and that a step stays all or nothing.
"""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optim_steps import options_of, params_of

from minitorch_scalar import Value
from optim import SGD, Adam, AdamW

OPTIMIZERS = [SGD, Adam, AdamW]


def three():
    return Value(1.0), Value(2.0), Value(3.0)


def test_a_group_takes_its_own_options_and_the_defaults_for_the_rest():
    a, b, c = three()
    opt = SGD([{"params": [a, b]}, {"params": [c], "lr": 0.01}], lr=0.1, momentum=0.9)
    assert [group["params"] for group in opt.param_groups] == [[a, b], [c]]
    assert options_of(opt, 0) == {**opt.defaults}
    assert options_of(opt, 1) == {**opt.defaults, "lr": 0.01}
    assert opt.defaults["lr"] == 0.1 and opt.defaults["momentum"] == 0.9


def test_each_group_steps_by_its_own_options():
    # a: lr 0.1, plain; b: lr 0.01 and maximize: a moves by -0.1 g, b by +0.01 g
    a, b = Value(1.0), Value(1.0)
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.01, "maximize": True}], lr=0.1)
    a.grad = b.grad = 2.0
    opt.step()
    assert (a.data, b.data) == (1.0 - 0.1 * 2.0, 1.0 + 0.01 * 2.0)


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_an_lr_set_in_param_groups_is_read_by_the_next_step(make):
    # two optimizers, one whose lr is set through param_groups: the same steps as one
    # built with that lr from the start
    moved, built = Value(1.0), Value(1.0)
    opt_moved, opt_built = make([moved], lr=0.5), make([built], lr=0.5)
    for t, lr in enumerate([0.5, 0.2, 0.2, 0.05]):
        opt_moved.param_groups[0]["lr"] = lr
        opt_built.lr = lr  # our shortcut for one group: the same dict entry
        assert opt_built.param_groups[0]["lr"] == lr
        moved.grad = built.grad = 1.0 + t
        opt_moved.step()
        opt_built.step()
    assert moved.data == built.data
    assert moved.data != 1.0


def test_the_lr_shortcut_refuses_an_optimizer_with_several_groups():
    a, b, c = three()
    opt = Adam([{"params": [a]}, {"params": [b, c]}])
    with pytest.raises(ValueError, match=r"one parameter group; this one has 2.*param_groups\[i\]"):
        opt.lr  # noqa: B018 - the read is the test
    with pytest.raises(ValueError, match="this one has 2"):
        opt.lr = 0.1
    assert [g["lr"] for g in opt.param_groups] == [1e-3, 1e-3]


def test_an_option_may_be_changed_per_group_between_steps():
    a, b = Value(1.0), Value(1.0)
    opt = SGD([{"params": [a]}, {"params": [b]}], lr=0.1, momentum=0.5)
    a.grad = b.grad = 1.0
    opt.step()
    opt.param_groups[1]["momentum"] = 0.0  # b: plain SGD from now on, its buffer unused
    a.grad = b.grad = 1.0
    opt.step()
    assert a.data == pytest.approx(1.0 - 0.1 - 0.1 * (0.5 * 1.0 + 1.0), rel=1e-15)
    assert b.data == pytest.approx(1.0 - 0.1 - 0.1, rel=1e-15)


def test_add_param_group_adds_a_group_with_the_defaults_filled():
    a, b = Value(1.0), Value(1.0)
    opt = Adam([a], lr=0.1, betas=(0.5, 0.6))
    opt.add_param_group({"params": b, "lr": 0.2})  # a single Value, as PyTorch allows
    assert opt.param_groups[1]["params"] == [b]
    assert options_of(opt, 1) == {**opt.defaults, "lr": 0.2}
    assert params_of(opt) == [a, b]


def test_named_parameters_give_each_group_param_names_as_pytorch():
    a, b, c = three()
    opt = SGD([{"params": [("w", a), ("b", b)]}, {"params": [("head", c)], "lr": 0.5}], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.param_groups[0]["params"] == [a, b]
    state = opt.state_dict()
    assert [g["param_names"] for g in state["param_groups"]] == [["w", "b"], ["head"]]
    fresh = SGD([{"params": [("w", a), ("b", b)]}, {"params": [("head", c)]}], lr=9.0)
    fresh.load_state_dict(json.loads(json.dumps(state)))
    assert fresh.state_dict() == state


def test_the_groups_own_dicts_are_not_the_ones_given():
    a = Value(1.0)
    given = {"params": [a], "lr": 0.1}
    opt = SGD([given])
    given["lr"] = 5.0  # changing what was given later changes nothing
    assert opt.param_groups[0]["lr"] == 0.1


def test_state_dict_numbers_parameters_through_the_groups_in_order():
    a, b, c = three()
    opt = SGD([{"params": [a, b], "momentum": 0.9}, {"params": [c], "lr": 0.01}], lr=0.1)
    for p in (a, b, c):
        p.grad = 1.0
    b.grad = None
    opt.step()
    state = opt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0, 1], [2]]
    assert state["state"] == {0: {"momentum_buffer": 1.0}}  # c's group has no momentum
    assert [g["momentum"] for g in state["param_groups"]] == [0.9, 0.0]
    assert [g["lr"] for g in state["param_groups"]] == [0.1, 0.01]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_several_groups_round_trip_through_json_and_resume_bit_for_bit(make):
    def build(lr):
        a, b, c = three()
        groups = [{"params": [a, b]}, {"params": [c], "lr": lr / 4, "weight_decay": 0.1}]
        return [a, b, c], make(groups, lr=lr)

    def train(params, opt, steps):
        for t in range(steps):
            for i, p in enumerate(params):
                p.grad = math.sin(3 * t + i) * p.data
            opt.step()

    straight, straight_opt = build(0.1)
    train(straight, straight_opt, 10)
    first, first_opt = build(0.1)
    train(first, first_opt, 4)
    saved = json.dumps({"data": [p.data for p in first], "opt": first_opt.state_dict()})

    resumed, resumed_opt = build(123.0)
    loaded = json.loads(saved)
    for p, x in zip(resumed, loaded["data"]):
        p.data = x
    resumed_opt.load_state_dict(loaded["opt"])
    assert resumed_opt.state_dict() == first_opt.state_dict()
    train_from = 4
    for t in range(train_from, 10):  # the same gradients as steps 4..9 of `straight`
        for i, p in enumerate(resumed):
            p.grad = math.sin(3 * t + i) * p.data
        resumed_opt.step()
    assert [p.data for p in resumed] == [p.data for p in straight]


# ---------------------------------------------------------------- bad groups


BAD_GROUPS = {
    "a group without params": (
        lambda a, b: [{"params": [a]}, {"lr": 0.1}],
        ValueError,
        r"params\[1\] expects the key 'params' .* got the keys \['lr'\]",
    ),
    "a parameter in two groups": (
        lambda a, b: [{"params": [a, b]}, {"params": [b]}],
        ValueError,
        r"params\[1\]'s parameter 0 is already in param_groups\[0\] \(its parameter 1\)",
    ),
    "a parameter twice in a group": (
        lambda a, b: [{"params": [a, b, a]}],
        ValueError,
        r"params\[0\]\['params'\]\[2\] .* got params\[0\]\['params'\]\[0\] again",
    ),
    "a bad option in a group": (
        lambda a, b: [{"params": [a]}, {"params": [b], "lr": -0.1}],
        ValueError,
        r"params\[1\]\['lr'\] expects a number >= 0, got -0.1",
    ),
    "an option of the wrong type": (
        lambda a, b: [{"params": [a], "momentum": "0.9"}],
        TypeError,
        r"params\[0\]\['momentum'\] expects a real number .* got str",
    ),
    "a rule across options in a group": (
        lambda a, b: [{"params": [a], "nesterov": True}],
        ValueError,
        r"params\[0\]: nesterov=True expects momentum > 0",
    ),
    "an unknown option": (
        lambda a, b: [{"params": [a], "learning_rate": 0.1}],
        ValueError,
        r"params\[0\] has the key\(s\) \['learning_rate'\], which are not options .*'lr'",
    ),
    "an empty group": (
        lambda a, b: [{"params": [a]}, {"params": []}],
        ValueError,
        r"params\[1\]\['params'\] expects at least one Value",
    ),
    "a group mixed with Values": (
        lambda a, b: [{"params": [a]}, b],
        TypeError,
        r"params\[1\] expects a dict \(a parameter group, as params\[0\]\), got Value",
    ),
    "a group's params a set": (
        lambda a, b: [{"params": {a, b}}],
        TypeError,
        r"params\[0\]\['params'\] expects an ordered iterable .* got a set",
    ),
    "a group's param not a Value": (
        lambda a, b: [{"params": [a, 2.0]}],
        TypeError,
        r"params\[0\]\['params'\]\[1\] expects a Value, got float",
    ),
    "a group's param not a leaf": (
        lambda a, b: [{"params": [a * b]}],
        ValueError,
        r"params\[0\]\['params'\]\[0\] expects a leaf Value",
    ),
    "named and unnamed in one group": (
        lambda a, b: [{"params": [("a", a), b]}],
        TypeError,
        r"Values or \(name, Value\) pairs, not both",
    ),
    "named in one group, not in another": (
        lambda a, b: [{"params": [("a", a)]}, {"params": [b]}],
        ValueError,
        r"params\[1\]: every group's parameters must be named",
    ),
    "a bad name": (
        lambda a, b: [{"params": [(1, a)]}],
        TypeError,
        r"params\[0\]\['params'\]\[0\] expects a Value or a \(name, Value\) pair",
    ),
    "a dict as params": (lambda a, b: {"params": [a]}, TypeError, "iterable of Values, got dict"),
}


@pytest.mark.parametrize(("groups", "error", "message"), BAD_GROUPS.values(), ids=BAD_GROUPS)
def test_a_bad_group_is_refused_naming_where(groups, error, message):
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(error, match=message):
        SGD(groups(a, b), lr=0.1)


def test_add_param_group_refuses_a_bad_group_and_keeps_the_groups():
    a, b = Value(1.0), Value(2.0)
    opt = SGD([a], lr=0.1)
    before = [dict(group) for group in opt.param_groups]
    bad = [
        ([b], TypeError, "param_group expects a dict with 'params', got list"),
        ({"params": [a]}, ValueError, "param_group's parameter 0 is already in param_groups"),
        ({"params": [b], "lr": math.nan}, ValueError, r"param_group\['lr'\] expects"),
        ({"params": [b], "betas": (0.9, 0.99)}, ValueError, r"\['betas'\], which are not"),
        ({"lr": 0.1}, ValueError, "param_group expects the key 'params'"),
    ]
    for group, error, message in bad:
        with pytest.raises(error, match=message):
            opt.add_param_group(group)
    assert opt.param_groups == before


def test_a_group_may_carry_initial_lr_as_a_scheduler_leaves_it():
    a = Value(1.0)
    opt = SGD([{"params": [a], "initial_lr": 0.5}], lr=0.1)
    assert opt.param_groups[0]["initial_lr"] == 0.5
    with pytest.raises(ValueError, match=r"params\[0\]\['initial_lr'\] expects a number >= 0"):
        SGD([{"params": [a], "initial_lr": -1.0}], lr=0.1)


# ------------------------------------------- a step with a bad value changes nothing


def snapshot(opt):
    return (
        [p.data for p in params_of(opt)],
        {id(p): dict(s) for p, s in opt.state.items()},
        [options_of(opt, i) for i in range(len(opt.param_groups))],
    )


def stepped(make):
    """An optimizer of two groups after one step, every gradient set for the next."""
    a, b, c = three()
    opt = make([{"params": [a, b]}, {"params": [c], "lr": 0.01}], lr=0.1)
    for p in (a, b, c):
        p.grad = 1.0
    opt.step()
    return opt, (a, b, c)


EDITS = {
    "a negative lr": (lambda o: o.param_groups[1].update(lr=-1.0), ValueError, r"\[1\]\['lr'\]"),
    "an lr as a string": (lambda o: o.param_groups[0].update(lr="0.1"), TypeError, r"\['lr'\]"),
    "a nan lr": (lambda o: o.param_groups[1].update(lr=math.nan), ValueError, "got nan"),
    "maximize not a bool": (
        lambda o: o.param_groups[1].update(maximize=1),
        TypeError,
        r"param_groups\[1\]\['maximize'\] expects True or False",
    ),
    "an option deleted": (
        lambda o: o.param_groups[1].pop("lr"),
        ValueError,
        r"param_groups\[1\] has no 'lr': a group must keep a value for every option",
    ),
}


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize(("edit", "error", "message"), EDITS.values(), ids=EDITS)
def test_a_bad_value_set_in_param_groups_is_refused_by_step_before_anything_moves(
    make, edit, error, message
):
    opt, _ = stepped(make)
    edit(opt)
    before = snapshot(opt)
    with pytest.raises(error, match=message):
        opt.step()
    assert snapshot(opt) == before


BAD_DATA = {
    "str": ("oops", TypeError, "expects a real number .* got str: 'oops'"),
    "None": (None, TypeError, "got NoneType"),
    "Value": (Value(0.5), TypeError, "got Value"),
    "huge int": (10**400, ValueError, "within a float's range"),
}


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize(("bad", "error", "message"), BAD_DATA.values(), ids=BAD_DATA)
def test_bad_data_in_a_later_group_changes_nothing(make, bad, error, message):
    # issue 18: the data of every parameter that steps is checked before any moves
    opt, (_, _, c) = stepped(make)
    before = snapshot(opt)
    c.data = bad
    with pytest.raises(error, match=r"param_groups\[1\]\['params'\]\[0\]\.data .*" + message):
        opt.step()
    c.data = before[0][2]
    assert snapshot(opt) == before


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_int_data_steps_as_its_float(make):
    # an int is a real number: it steps as the float it equals and becomes that float
    ints, floats = Value(1.0), Value(1.0)
    ints.data = 1
    for p in (ints, floats):
        opt = make([p], lr=0.1)
        for g in (1.0, -2.0):
            p.grad = g
            opt.step()
    assert type(ints.data) is float
    assert ints.data == floats.data


def test_param_names_may_be_given_with_a_group_and_are_checked():
    a, b = Value(1.0), Value(2.0)
    opt = SGD([{"params": [a, b], "param_names": ["w", "b"]}], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    with pytest.raises(ValueError, match=r"params\[0\]\['param_names'\] expects 2 names"):
        SGD([{"params": [a, b], "param_names": ["w"]}], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\]\['param_names'\] expects a list of"):
        SGD([{"params": [a], "param_names": "w"}], lr=0.1)


# ------------------------------------------------ properties, over random groupings

SGD_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "lr": st.sampled_from([0.0, 0.01, 0.3]),
        "momentum": st.sampled_from([0.0, 0.9]),
        "dampening": st.sampled_from([0.0, 0.5]),
        "weight_decay": st.sampled_from([0.0, 0.1]),
        "maximize": st.booleans(),
    },
)
ADAM_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "lr": st.sampled_from([0.0, 0.01, 0.3]),
        "betas": st.sampled_from([(0.9, 0.999), (0.0, 0.5)]),
        "weight_decay": st.sampled_from([0.0, 0.1]),
        "amsgrad": st.booleans(),
        "maximize": st.booleans(),
    },
)
KINDS = {
    "SGD": (SGD, SGD_OPTIONS),
    "Adam": (Adam, ADAM_OPTIONS),
    "AdamW": (AdamW, ADAM_OPTIONS),
}


@st.composite
def grouped_problem(draw):
    """An optimizer class, 2 to 7 parameters cut into groups with options of their own,
    and 4 steps of gradients (None among them)."""
    make, options = KINDS[draw(st.sampled_from(sorted(KINDS)))]
    count = draw(st.integers(2, 7))
    cuts = sorted(draw(st.sets(st.integers(1, count - 1), max_size=count - 1)))
    bounds = list(zip([0, *cuts], [*cuts, count]))
    groups = [(range(start, stop), draw(options)) for start, stop in bounds]
    grads = draw(
        st.lists(
            st.lists(st.one_of(st.none(), st.floats(-5, 5)), min_size=count, max_size=count),
            min_size=4,
            max_size=4,
        )
    )
    return make, groups, grads


@settings(max_examples=60, deadline=None)
@given(grouped_problem())
def test_groups_step_exactly_as_one_optimizer_per_group(problem):
    # the defaults rule, and no group's options leaking into another's parameters
    make, groups, grads = problem
    together = [Value(0.5 + i) for i in range(len(grads[0]))]
    apart = [Value(0.5 + i) for i in range(len(grads[0]))]
    defaults = {"lr": 0.05}
    one = make([{"params": [together[i] for i in r], **o} for r, o in groups], **defaults)
    each = [make([apart[i] for i in r], **{**defaults, **o}) for r, o in groups]
    for row in grads:
        for p, q, g in zip(together, apart, row):
            p.grad = q.grad = g
        one.step()
        for opt in each:
            opt.step()
        assert [p.data for p in together] == [q.data for q in apart]
    assert one.state_dict()["state"] == {
        index: entry
        for index, entry in enumerate(
            entry for opt in each for entry in [opt.state.get(p) for p in params_of(opt)]
        )
        if entry is not None
    }


BAD_VALUES = st.sampled_from(["x", [1.0], Value(1.0), 10**400])  # (a None grad is no error)


@settings(max_examples=60, deadline=None)
@given(grouped_problem(), st.data())
def test_a_bad_grad_or_data_anywhere_leaves_every_group_as_it_was(problem, data):
    make, groups, grads = problem
    params = [Value(0.5 + i) for i in range(len(grads[0]))]
    opt = make([{"params": [params[i] for i in r], **o} for r, o in groups], lr=0.05)
    for p, g in zip(params, grads[0]):
        p.grad = g
    opt.step()
    for p, g in zip(params, grads[1]):
        p.grad = 1.0 if g is None else g
    bad_at = data.draw(st.integers(0, len(params) - 1))
    field = data.draw(st.sampled_from(["grad", "data"]))
    before = snapshot(opt)
    good = getattr(params[bad_at], field)
    setattr(params[bad_at], field, data.draw(BAD_VALUES))
    with pytest.raises((TypeError, ValueError), match=rf"\]\.{field} expects a real number"):
        opt.step()
    setattr(params[bad_at], field, good)
    assert snapshot(opt) == before
