"""A subclass of Value is a Value everywhere in nn: every loss and every model input.

The README promises that a subclass of `Value` mixes with it in every op; the
compiler's own outputs are such a subclass. Each test builds the same computation
twice, once with plain Values and once with some of them replaced by a subclass
(which ones is drawn by hypothesis), and asks for the same bits, forward and back.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch_scalar
import nn
from minitorch_scalar import Value


class Sub(Value):
    """A user's subclass, as the README allows: nothing overridden."""


class Labelled(Value):
    """A subclass with its own slot, as the compiler's CompiledValue has."""

    __slots__ = ("note",)


SCORES = [0.5, -1.25, 2.0, 0.0]
HINGE_TARGETS = [1.0, -1.0, -1.0, 1.0]
PROBABILITIES = [1.0, 0.0, 0.25, 0.5]
ROWS = [[0.5, -1.0, 2.0], [0.0, 3.0, -0.5], [1.5, 1.5, -2.0], [-1.0, 0.25, 0.75]]
CLASSES = [2.0, 1.0, 0.0, 2.0]


def _loss_cases():
    """(name, build) where build(wrap_x, wrap_t) runs the loss on wrapped leaves."""
    return {
        "hinge_loss": lambda x, t: nn.hinge_loss(x(SCORES), t(HINGE_TARGETS)),
        "mse_loss": lambda x, t: nn.mse_loss(x(SCORES), t(PROBABILITIES)),
        "binary_cross_entropy_with_logits": lambda x, t: nn.binary_cross_entropy_with_logits(
            x(SCORES), t(PROBABILITIES)
        ),
        "cross_entropy": lambda x, t: nn.cross_entropy([x(row) for row in ROWS], t(CLASSES)),
        "l2_penalty": lambda x, t: nn.l2_penalty(x(SCORES)),
        "MSELoss": lambda x, t: nn.MSELoss()(x(SCORES), t(PROBABILITIES)),
        "BCEWithLogitsLoss": lambda x, t: nn.BCEWithLogitsLoss(reduction="sum")(
            x(SCORES), t(PROBABILITIES)
        ),
        "CrossEntropyLoss": lambda x, t: nn.CrossEntropyLoss()(
            [x(row) for row in ROWS], t(CLASSES)
        ),
    }


def test_every_loss_is_covered():
    assert set(_loss_cases()) == set(nn.losses.__all__)


def _wrapper(kinds):
    """A function making leaves of a list of numbers, the i-th of class kinds[i % len]."""
    made = []

    def wrap(numbers):
        leaves = [kinds[(len(made) + i) % len(kinds)](x) for i, x in enumerate(numbers)]
        made.extend(leaves)
        return leaves

    return wrap, made


KINDS = st.lists(st.sampled_from([Value, Sub, Labelled]), min_size=1, max_size=5)


@pytest.mark.parametrize("name", sorted(_loss_cases()))
@given(score_kinds=KINDS, target_kinds=KINDS)
def test_losses_take_value_subclasses_as_values(name, score_kinds, target_kinds):
    build = _loss_cases()[name]
    plain_x, plain_leaves = _wrapper([Value])
    plain_t, plain_targets = _wrapper([Value])
    expected = build(plain_x, plain_t)
    expected.backward()
    mixed_x, mixed_leaves = _wrapper(score_kinds)
    mixed_t, mixed_targets = _wrapper(target_kinds)
    loss = build(mixed_x, mixed_t)
    loss.backward()
    assert loss.data == expected.data
    assert [v.grad for v in mixed_leaves] == [v.grad for v in plain_leaves]
    assert [v.grad for v in mixed_targets] == [v.grad for v in plain_targets]


@given(kinds=KINDS, batch=st.booleans())
def test_models_take_value_subclasses_as_inputs(kinds, batch):
    model = nn.MLP(3, [4, 2], seed=0)
    rows = [[0.5, -1.0, 2.0], [1.0, 0.25, -0.5]]
    results = []
    for wrap in (_wrapper([Value]), _wrapper(kinds)):
        model.zero_grad()
        make, leaves = wrap
        inputs = [make(row) for row in rows]
        outputs = model(inputs) if batch else [model(row) for row in inputs]
        total = minitorch_scalar.sum([o for out in outputs for o in out])
        total.backward()
        results.append(
            (
                [o.data for out in outputs for o in out],
                [v.grad for v in leaves],
                [p.grad for p in model.parameters()],
            )
        )
    assert results[0] == results[1]


def test_a_compiled_models_outputs_go_into_every_loss():
    model = nn.MLP(2, [3, 1], seed=0)
    compiled = minitorch_scalar.compile(model)
    rows = [[0.5, -1.0], [1.0, 2.0]]
    compiled(rows[0])  # the first call traces (eagerly); the next ones replay
    with minitorch_scalar.no_grad():
        scores = [compiled(row) for row in rows]
        eager = [model(row) for row in rows]
    assert all(isinstance(s, Value) and type(s) is not Value for s in scores)
    assert nn.hinge_loss(scores, [1, -1]).data == nn.hinge_loss(eager, [1, -1]).data
    assert nn.mse_loss(scores, [0.5, 0.5]).data == nn.mse_loss(eager, [0.5, 0.5]).data
    assert nn.l2_penalty(scores).data == nn.l2_penalty(eager).data
    assert nn.cross_entropy([scores], [1]).data == nn.cross_entropy([eager], [1]).data
    assert model(scores).data == model(eager).data
