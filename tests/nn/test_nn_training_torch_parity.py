"""A PyTorch-style model trained here and in torch (weights copied through state_dict)
for 20 steps: SGD with several parameter groups, Adam, AdamW, a scheduler, and an edit
of ``param_groups[i]["lr"]`` midway. The losses of every step and the final weights
agree to 1e-12 (float64). Skipped without torch."""

import numpy as np
import pytest

import nn
import nn.functional as F
import optim
from optim.lr_scheduler import CosineAnnealingLR, StepLR

torch = pytest.importorskip("torch")
STEPS = 20
TOLERANCE = {"rel": 1e-12, "abs": 1e-12}


def model_pair():
    ours = nn.Sequential(
        nn.Linear(2, 6, seed=0), nn.Tanh(), nn.Linear(6, 5, seed=1), nn.ReLU(),
        nn.Linear(5, 3, seed=2),
    )  # fmt: skip
    theirs = torch.nn.Sequential(
        torch.nn.Linear(2, 6), torch.nn.Tanh(), torch.nn.Linear(6, 5), torch.nn.ReLU(),
        torch.nn.Linear(5, 3),
    ).double()  # fmt: skip
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def groups(model, options):
    """Two groups: the first layer with `options`, the rest with the defaults."""
    rest = [p for layer in list(model)[1:] for p in layer.parameters()]
    return [{"params": list(model[0].parameters()), **options}, {"params": rest}]


OPTIMIZERS = [  # (optimizer, its defaults, the first group's own options, schedule)
    ("SGD", {"lr": 0.1, "momentum": 0.9}, {"lr": 0.3, "weight_decay": 0.01, "nesterov": True,
                                           "momentum": 0.5}, "step"),
    ("SGD", {"lr": 0.2}, {"momentum": 0.8, "dampening": 0.1}, "cosine"),
    ("Adam", {"lr": 0.01, "amsgrad": True}, {"lr": 0.03, "weight_decay": 0.01}, "cosine"),
    ("AdamW", {"lr": 0.01}, {"weight_decay": 0.1, "betas": (0.8, 0.99)}, "step"),
    ("AdamW", {"lr": 0.02, "amsgrad": True}, {"maximize": True, "eps": 1e-6}, "cosine"),
]  # fmt: skip
SCHEDULERS = {
    "step": (StepLR, torch.optim.lr_scheduler.StepLR, {"step_size": 5, "gamma": 0.5}),
    "cosine": (CosineAnnealingLR, torch.optim.lr_scheduler.CosineAnnealingLR, {"T_max": STEPS}),
}


@pytest.mark.parametrize(("name", "defaults", "first_group", "schedule"), OPTIMIZERS)
def test_training_matches_torch_step_for_step(name, defaults, first_group, schedule):
    rng = np.random.default_rng(0)
    xs, classes = rng.normal(size=(12, 2)), rng.integers(0, 3, size=12)
    ours, theirs = model_pair()
    opt = getattr(optim, name)(groups(ours, first_group), **defaults)
    torch_opt = getattr(torch.optim, name)(groups(theirs, first_group), **defaults)
    ours_schedule, torch_schedule, options = SCHEDULERS[schedule]
    sched, torch_sched = ours_schedule(opt, **options), torch_schedule(torch_opt, **options)
    x, target = torch.from_numpy(xs), torch.from_numpy(classes)
    for step in range(STEPS):
        if step == 10:  # an edit of a group's lr, carried on by the schedule
            opt.param_groups[1]["lr"] *= 0.5
            torch_opt.param_groups[1]["lr"] *= 0.5
        opt.zero_grad()
        loss = F.cross_entropy(ours(xs), classes.tolist())
        loss.backward()
        opt.step()
        sched.step()
        torch_opt.zero_grad()
        torch_loss = torch.nn.functional.cross_entropy(theirs(x), target)
        torch_loss.backward()
        torch_opt.step()
        torch_sched.step()
        assert loss.data == pytest.approx(torch_loss.item(), **TOLERANCE), step
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in torch_opt.param_groups]
    for key, value in theirs.state_dict().items():
        assert ours.state_dict()[key] == pytest.approx(value.numpy(), **TOLERANCE), key
