"""`manual_seed(n)`: the seed of every default initialisation, as ``torch.manual_seed``.

The weights a model draws when given no ``seed`` come from Python's global `random`
module, as micrograd's do (so ``random.seed(1337)`` before micrograd's ``MLP(2, [16,
16, 1])`` gives micrograd's very weights here). `manual_seed` seeds that generator:
one call at the top of a script makes every default initialisation after it the same
on every run, the micrograd-style `nn.MLP` and the PyTorch-style `nn.Linear` alike.
"""

from __future__ import annotations

import random

from .real import is_integer


def manual_seed(seed: int) -> None:
    """Seed the generator every default initialisation draws from (Python's `random`).

    `seed`: an int (a numpy integer too; not a bool), else TypeError. Unlike PyTorch's,
    it returns nothing: the generator is Python's own, ``random``.
    """
    if not is_integer(seed):
        raise TypeError(f"manual_seed(seed) expects an int, got {type(seed).__name__}: {seed!r}")
    random.seed(int(seed))
