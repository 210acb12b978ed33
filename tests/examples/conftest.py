"""Run the example scripts as a user would, and let tests import their modules."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))  # the scripts import their helper modules by name

Runner = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def run_script(tmp_path: Path) -> Runner:
    """`python examples/<name> *args`, run from an empty folder, output captured as text."""

    # the packages of this checkout first, whatever `pip install -e` points at
    path = os.pathsep.join(filter(None, [str(EXAMPLES.parent), os.environ.get("PYTHONPATH")]))

    def run(name: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(EXAMPLES / name), *args],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": path},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run


@pytest.fixture
def assert_usage_error() -> Callable[[subprocess.CompletedProcess], None]:
    """A check of argparse's way out: exit code 2, a usage line, no traceback."""

    def check(result: subprocess.CompletedProcess) -> None:
        assert result.returncode == 2, result.stderr
        assert "usage:" in result.stderr
        assert "Traceback" not in result.stderr

    return check


def pytest_configure(config: pytest.Config) -> None:
    """Register the `slow` mark: ``-m "not slow"`` skips the full-size training run."""
    config.addinivalue_line(
        "markers", "slow: trains with the full defaults; skipped unless RUN_SLOW=1 or -m slow"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the `slow` tests out unless asked for: ``-m slow`` or RUN_SLOW=1."""
    if "slow" in (config.option.markexpr or "") or os.environ.get("RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="full-size run: RUN_SLOW=1 or -m slow to run it")
    for item in items:
        if "slow" in item.keywords and Path(item.path).is_relative_to(Path(__file__).parent):
            item.add_marker(skip)
