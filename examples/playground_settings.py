"""What the playground's page may ask for, checked: every setting typed and bounded.

A request's JSON is never trusted: each field is read by one of the checks below,
which return the value or raise `RequestError` with a sentence the page shows as it
is ("points: expected an integer from 20 to 500, got 1000"). The bounds keep every
request small: at most MAX_POINTS points, MAX_LAYERS hidden layers of MAX_WIDTH
neurons, MAX_STEPS training steps per request.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from playground_data import DATASETS

MIN_POINTS, MAX_POINTS = 20, 500
MAX_LAYERS, MAX_WIDTH = 4, 8
MAX_NOISE = 0.5
MIN_TRAIN_PERCENT, MAX_TRAIN_PERCENT = 10, 90
MIN_LR, MAX_LR = 1e-5, 10.0
MAX_SEED = 2**31 - 1
MAX_STEPS = 100  # training steps in one request
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
LOSSES = ("bce", "hinge", "mse")
OPTIMIZERS = ("adam", "sgd")


class RequestError(ValueError):
    """A request the playground refuses; its message is for the page, as it is."""


@dataclass(frozen=True)
class Settings:
    """One run of the playground: the data, the network and how it trains."""

    dataset: str = "moons"
    noise: float = 0.1
    points: int = 200
    train_percent: int = 70
    hidden: list[int] = field(default_factory=lambda: [6, 6])
    activation: str = "tanh"
    loss: str = "bce"
    optimizer: str = "adam"
    learning_rate: float = 0.03
    batch_size: int = 10
    seed: int = 1

    @property
    def train_count(self) -> int:
        """How many of the points are for training; the rest are the test set."""
        return round(self.points * self.train_percent / 100)

    def as_json(self) -> dict[str, Any]:
        """The settings as the page sends them."""
        return asdict(self)


def parse_settings(request: object) -> Settings:
    """The settings a request asks for: a JSON object whose keys are Settings' fields,
    any of them left out taking its default. RequestError for anything else."""
    fields = require_object(request, "settings")
    unknown = sorted(set(fields) - set(Settings.__dataclass_fields__))
    if unknown:
        raise RequestError(f"settings: unknown setting {unknown[0]!r}")
    defaults = Settings()
    get = lambda key: fields.get(key, getattr(defaults, key))  # noqa: E731
    settings = Settings(
        dataset=choice(get("dataset"), "dataset", tuple(DATASETS)),
        noise=number(get("noise"), "noise", 0.0, MAX_NOISE),
        points=integer(get("points"), "points", MIN_POINTS, MAX_POINTS),
        train_percent=integer(
            get("train_percent"), "train_percent", MIN_TRAIN_PERCENT, MAX_TRAIN_PERCENT
        ),
        hidden=widths(get("hidden")),
        activation=choice(get("activation"), "activation", ACTIVATIONS),
        loss=choice(get("loss"), "loss", LOSSES),
        optimizer=choice(get("optimizer"), "optimizer", OPTIMIZERS),
        learning_rate=number(get("learning_rate"), "learning_rate", MIN_LR, MAX_LR),
        batch_size=integer(get("batch_size"), "batch_size", 1, MAX_POINTS),
        seed=integer(get("seed"), "seed", 0, MAX_SEED),
    )
    if settings.batch_size > settings.train_count:
        raise RequestError(
            f"batch_size: at most the number of training points ({settings.train_count}), "
            f"got {settings.batch_size}"
        )
    return settings


def require_object(request: object, what: str) -> dict[str, Any]:
    """`request` if it is a JSON object (a dict), else RequestError."""
    if not isinstance(request, dict):
        raise RequestError(f"{what}: expected a JSON object, got {_shown(request)}")
    return request


def integer(value: object, name: str, low: int, high: int) -> int:
    """`value` if it is an integer (not a bool, not 3.0) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestError(f"{name}: expected an integer from {low} to {high}, got {_shown(value)}")
    return value


def number(value: object, name: str, low: float, high: float) -> float:
    """`value` as a float if it is a finite number in [low, high] (ints count)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise RequestError(
            f"{name}: expected a number from {low:g} to {high:g}, got {_shown(value)}"
        )
    return float(value)


def choice(value: object, name: str, options: tuple[str, ...]) -> str:
    """`value` if it is one of the strings `options`."""
    if not isinstance(value, str) or value not in options:
        raise RequestError(f"{name}: expected one of {', '.join(options)}, got {_shown(value)}")
    return value


def widths(value: object) -> list[int]:
    """The hidden layers' widths: a list of at most MAX_LAYERS integers, each 1 to MAX_WIDTH."""
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise RequestError(
            f"hidden: expected a list of at most {MAX_LAYERS} layer widths, got {_shown(value)}"
        )
    return [integer(width, f"hidden[{i}]", 1, MAX_WIDTH) for i, width in enumerate(value)]


def _shown(value: object) -> str:
    """A short, safe rendering of a value the client sent (for an error message)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
