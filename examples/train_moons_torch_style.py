"""Train a two-moons classifier written entirely as in PyTorch.

The same task as train_moons.py (micrograd's style), in the code a PyTorch user
writes: an nn.Sequential of nn.Linear and nn.ReLU, the loss from nn.functional, an
optimizer with two parameter groups (weight decay on the weights only, a common
PyTorch idiom), a cosine learning-rate schedule, model.train() / model.eval(), and
state_dict() to save. Change the imports (minitorch_scalar -> torch, the data to
tensors) and it is a PyTorch script; what differs is listed in the README.

Prints a line every tenth of the run and a final summary; --save-model writes the
weights (.npz), with PyTorch's names ("0.weight", "0.bias", ...).

Below the imports: the model, the optimizer, then main with the loss and the training
loop. The flags are in torch_style_args.py.

Run:  python examples/train_moons_torch_style.py [--help]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from script_args import check_finite_loss, engine_errors_as_divergence, run_guarded
from sklearn.datasets import make_moons
from torch_style_args import parse_args

import minitorch_scalar as ms
import nn
import nn.functional as F
import optim
from optim.lr_scheduler import CosineAnnealingLR

WEIGHT_DECAY = 1e-4  # on the weights; the biases are left free
MOMENTUM = 0.9


def make_model(hidden: int) -> nn.Sequential:
    """2 -> hidden -> hidden -> 1: one logit per point, class 1 where it is > 0."""
    return nn.Sequential(
        nn.Linear(2, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 1),
    )


def make_optimizer(model: nn.Module, lr: float) -> optim.SGD:
    """SGD with momentum; two parameter groups: weights decayed, biases not."""
    decay = [p for name, p in model.named_parameters() if "bias" not in name]
    no_decay = [p for name, p in model.named_parameters() if "bias" in name]
    return optim.SGD(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay}],
        lr=lr,
        momentum=MOMENTUM,
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    ms.manual_seed(args.seed)  # torch.manual_seed: the weights' initialisation
    rng = np.random.RandomState(args.seed)
    x_train, y_train = make_moons(n_samples=args.samples, noise=0.1, random_state=rng)
    x_test, y_test = make_moons(n_samples=200, noise=0.1, random_state=rng)
    y = y_train.astype(float)

    model = make_model(args.hidden)
    optimizer = make_optimizer(model, args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs)
    print(model)

    for epoch in range(1, args.epochs + 1):
        model.train()
        with engine_errors_as_divergence(epoch):
            logits = model(x_train)  # a batch: one logit per row
            loss = F.binary_cross_entropy_with_logits(logits, y)
            check_finite_loss(loss, epoch, F.binary_cross_entropy_with_logits, logits, y)
            optimizer.zero_grad()
            loss.backward()
        optimizer.step()
        lr = optimizer.param_groups[0]["lr"]  # the lr this step used
        scheduler.step()
        if epoch % max(1, args.epochs // 10) == 0 or epoch == args.epochs:
            print(f"epoch {epoch:4d}  loss {loss.data:.4f}  lr {lr:.4f}", flush=True)

    model.eval()
    with ms.no_grad():
        train_acc = accuracy(model(x_train), y_train)
        test_acc = accuracy(model(x_test), y_test)
    print(f"final: loss={loss.data:.4f} train_acc={train_acc:.3f} test_acc={test_acc:.3f}")
    if args.save_model is not None:
        model.save(args.save_model)
        print(f"wrote {args.save_model}")


def accuracy(logits: list, labels: np.ndarray) -> float:
    """The fraction of points whose logit has the sign of its class (> 0 for class 1)."""
    return float(np.mean([(logit.data > 0) == label for logit, label in zip(logits, labels)]))


if __name__ == "__main__":
    run_guarded(main)
