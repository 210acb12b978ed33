"""Ours against torch.optim with None gradients, and state_dict() against torch's.

Each of N_PARAMS parameters is its own 0-d float64 tensor in PyTorch, so a gradient
can be None for one parameter at one step: both skip it, and its state (Adam's step
count too) stays. After every step the parameters agree to 1e-12 relative, and so does
``state_dict()``: the same keys, the same numbers (torch's tensors read as numbers).
"""

import numpy as np
import pytest

from minitorch_scalar import Value
from optim import SGD, Adam, AdamW

torch = pytest.importorskip("torch")

N_PARAMS, N_STEPS = 5, 12
RTOL = 1e-12
# torch's param_group keys for how it computes (loops, kernels), not what
TORCH_ONLY = {"foreach", "capturable", "differentiable", "fused"}


def gradient_rows(seed):
    """N_STEPS rows of gradients, None where a parameter has no gradient that step."""
    rng = np.random.default_rng(seed)
    grads = rng.normal(size=(N_STEPS, N_PARAMS)).tolist()
    for t, row in enumerate(grads):
        row[0] = None if t % 3 == 1 else row[0]  # skips every third step
        row[1] = None if t < 4 else row[1]  # starts late
        row[2] = None  # never has a gradient: never any state
        row[3] = 0.0 if t in (5, 6) else row[3]  # a zero gradient is not a skip
    return rng.normal(size=N_PARAMS).tolist(), grads


def torch_numbers(state_dict):
    """torch's state_dict with each tensor as a Python number and torch-only keys gone."""
    state = {
        index: {key: value.item() for key, value in entry.items()}
        for index, entry in state_dict["state"].items()
    }
    groups = [
        {key: value for key, value in group.items() if key not in TORCH_ONLY}
        for group in state_dict["param_groups"]
    ]
    return {"state": state, "param_groups": groups}


def assert_same_state_dict(ours, theirs):
    assert ours["param_groups"] == theirs["param_groups"]
    assert ours["state"].keys() == theirs["state"].keys()
    for index, entry in ours["state"].items():
        assert entry.keys() == theirs["state"][index].keys()
        for key, value in entry.items():
            assert value == pytest.approx(theirs["state"][index][key], rel=RTOL, abs=0.0)
        if "step" in entry:
            assert type(entry["step"]) is int
            assert entry["step"] == theirs["state"][index]["step"]


def run_both(ours_class, torch_class, kwargs, seed):
    """Yield (ours, torch's) optimizer and parameters after each step."""
    initial, grads = gradient_rows(seed)
    ours = [Value(x) for x in initial]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in initial]
    ours_opt, torch_opt = ours_class(ours, **kwargs), torch_class(theirs, **kwargs)
    for row in grads:
        for p, t, g in zip(ours, theirs, row):
            p.grad = g
            t.grad = None if g is None else torch.tensor(g, dtype=torch.float64)
        ours_opt.step()
        torch_opt.step()
        yield ours_opt, torch_opt, ours, theirs


CASES = [
    (SGD, torch.optim.SGD, {"lr": 0.1}),
    (SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    (SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    (SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.5, "maximize": True}),
    (Adam, torch.optim.Adam, {"lr": 0.1}),
    (Adam, torch.optim.Adam, {"lr": 0.1, "amsgrad": True, "betas": (0.5, 0.6)}),
    (Adam, torch.optim.Adam, {"lr": 0.1, "weight_decay": 0.1, "maximize": True, "eps": 1e-3}),
    (AdamW, torch.optim.AdamW, {"lr": 0.1}),
    (AdamW, torch.optim.AdamW, {"lr": 0.1, "weight_decay": 0.3, "amsgrad": True, "maximize": True}),
]
IDS = [f"{ours.__name__}-{kwargs}" for ours, _, kwargs in CASES]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("ours_class", "torch_class", "kwargs"), CASES, ids=IDS)
def test_none_gradients_are_skipped_as_by_torch(ours_class, torch_class, kwargs, seed):
    for _, _, ours, theirs in run_both(ours_class, torch_class, kwargs, seed):
        np.testing.assert_allclose([p.data for p in ours], [t.item() for t in theirs], rtol=RTOL)


@pytest.mark.parametrize(("ours_class", "torch_class", "kwargs"), CASES, ids=IDS)
def test_state_dict_is_torchs(ours_class, torch_class, kwargs):
    for ours_opt, torch_opt, _, _ in run_both(ours_class, torch_class, kwargs, 2):
        assert_same_state_dict(ours_opt.state_dict(), torch_numbers(torch_opt.state_dict()))


def test_adam_step_counts_are_per_parameter_as_in_torch():
    for ours_opt, torch_opt, ours, theirs in run_both(Adam, torch.optim.Adam, {"lr": 0.1}, 0):
        ours_steps = [ours_opt.state[p]["step"] if p in ours_opt.state else None for p in ours]
        torch_steps = [
            int(torch_opt.state[t]["step"]) if t in torch_opt.state else None for t in theirs
        ]
        assert ours_steps == torch_steps
    assert ours_steps == [8, 8, None, 12, 12]  # 12 steps: 4 skipped, 4 not yet, never
