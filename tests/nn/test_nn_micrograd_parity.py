"""Parity with micrograd: the same weights from the same seed, the same forward and backward."""

import random

import pytest

import nn

micrograd_nn = pytest.importorskip("micrograd.nn")


def micrograd_model(seed, nin=2, nouts=(16, 16, 1)):
    random.seed(seed)
    return micrograd_nn.MLP(nin, list(nouts))


def our_model(seed, nin=2, nouts=(16, 16, 1)):
    random.seed(seed)
    return nn.MLP(nin, list(nouts))


@pytest.mark.parametrize("seed", [1337, 0, 42])
def test_same_global_seed_draws_micrograds_weights_in_order(seed):
    theirs = micrograd_model(seed)
    after_theirs = random.random()
    ours = our_model(seed)
    after_ours = random.random()
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    assert after_ours == after_theirs  # exactly as many draws


def micrograd_moons_loss(model, xs, ys, value_type):
    """The loss of micrograd's demo, built op by op (only for micrograd's own model)."""
    inputs = [list(map(value_type, x)) for x in xs]
    scores = list(map(model, inputs))
    losses = [(1 + -y * score).relu() for y, score in zip(ys, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return scores, data_loss + reg_loss


def test_forward_and_backward_match_micrograds_demo():
    from micrograd.engine import Value as MicrogradValue

    rng = random.Random(0)
    xs = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(30)]
    ys = [rng.choice([-1, 1]) for _ in xs]
    theirs = micrograd_model(1337)
    ours = our_model(1337)

    their_scores, their_loss = micrograd_moons_loss(theirs, xs, ys, MicrogradValue)
    their_loss.backward()
    our_scores = [ours(x) for x in xs]
    our_loss = nn.hinge_loss(our_scores, ys) + 1e-4 * nn.l2_penalty(ours.parameters())
    our_loss.backward()

    assert [s.data for s in our_scores] == pytest.approx(
        [s.data for s in their_scores], rel=1e-12, abs=1e-12
    )
    assert our_loss.data == pytest.approx(their_loss.data, rel=1e-12)
    assert [p.grad for p in ours.parameters()] == pytest.approx(
        [p.grad for p in theirs.parameters()], rel=1e-12, abs=1e-12
    )


def test_micrograd_weights_copy_over_one_to_one():
    theirs = micrograd_model(7, nin=3, nouts=(4, 4, 2))
    ours = nn.MLP(3, [4, 4, 2], seed=123)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        p.data = q.data
    x = [0.5, -0.25, 1.5]
    assert [v.data for v in ours(x)] == pytest.approx([v.data for v in theirs(x)], rel=1e-12)
