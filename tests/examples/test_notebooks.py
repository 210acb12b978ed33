"""examples/notebooks: each runs top to bottom in a fresh kernel, with its exercises solved.

A notebook is executed with its exercise cells replaced by their solutions: no cell may
raise, every check must say RIGHT, and every other cell must print what the stored
notebook shows (its stored outputs are never stale). Once more with wrong answers: the
checks must say WRONG, naming the input, the expected and the actual number.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "examples" / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))
from execute import LIVE_ONLY, execute, tags  # noqa: E402

SOFTPLUS = """
@ms.custom_op("softplus")
def softplus(a):
    value = math.log1p(math.exp(a))
    derivative = {}
    return value, (derivative,)
"""
SWISH = """
@ms.custom_op("swish")
def swish(a):
    value = a * sigmoid(a)
    derivative = sigmoid(a) + a * sigmoid(a) * (1 - sigmoid(a))
    return value, (derivative,)
"""
SOLUTIONS = {
    "01_backprop_by_hand.ipynb": {
        "exercise-1": """
def small_graph(a, b, c):
    return (a * b + c) * a

at = {"a": 2.0, "b": -3.0, "c": 10.0}
predicted = {"a": -2.0, "b": 4.0, "c": 2.0}  # (ab + c) + ab = 4 - 6; a * a; a
""",
        "exercise-2": SOFTPLUS.format("1 / (1 + math.exp(-a))"),
    },
    "02_moons_and_diagnose.ipynb": {
        "exercise-1": 'dead = {"layers.0": [0, 1, 2, 4, 5, 9, 10, 11, 12, 13],'
        ' "layers.1": [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15]}',
        "exercise-2": """
def neuron(w, x, b):
    return (w * x + b).relu()

at = {"w": -1.0, "x": 2.0, "b": 0.5}
predicted = {"w": 0.0, "x": 0.0, "b": 0.0}  # w x + b = -1.5 < 0: the relu passes nothing
""",
    },
    "03_the_compiler.ipynb": {
        "exercise-1": """
small = nn.MLP(2, [8, 1], seed=0)
batch = X[:30]
predicted = 30 * 8 + 30 * 1  # one dot per (row, neuron), in each layer
""",
        "exercise-2": "def sigmoid(a):\n    return 1 / (1 + math.exp(-a))\n" + SWISH,
    },
}
UNCOMPARED = {"exercise-1", "exercise-2", "check", "timing"}  # outputs that differ by design


def text_outputs(cell) -> str:
    """What a cell printed and returned, as one text (pictures are left out; a stream
    comes in chunks that differ from run to run)."""
    texts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            texts.append(output.text)
        elif "image/png" not in output.get("data", {"image/png": None}):
            texts.append(output.data.get("text/plain", "") + "\n")  # a picture's is its size
    return "".join(texts)


def checks_said(notebook) -> list[str]:
    return [text_outputs(cell) for cell in notebook.cells if "check" in tags(cell)]


@pytest.mark.parametrize("name", sorted(SOLUTIONS))
def test_the_notebook_runs_with_its_exercises_solved(name):
    ran = execute(NOTEBOOKS / name, SOLUTIONS[name])
    said = checks_said(ran)
    assert said and all(text.startswith("RIGHT") for text in said), said
    stored = {cell.id: cell for cell in nbformat.read(NOTEBOOKS / name, as_version=4).cells}
    for cell in ran.cells:
        if cell.cell_type == "code" and not UNCOMPARED & set(tags(cell)):
            assert text_outputs(cell) == text_outputs(stored[cell.id]), (
                f"{name}: the stored outputs of this cell are stale; run "
                f"python examples/notebooks/execute.py\n{cell.source}"
            )


def test_wrong_answers_are_caught_with_input_expected_and_actual():
    wrong = {
        "exercise-1": 'at = {"a": 2.0, "b": -3.0, "c": 10.0}\n'
        'predicted = {"a": 4.0, "b": 4.0, "c": 2.0}  # forgot the second use of a\n'
        "def small_graph(a, b, c):\n    return (a * b + c) * a",
        "exercise-2": SOFTPLUS.format("1 / (1 + math.exp(a))"),  # the sign of the exponent
    }
    gradients, derivative = checks_said(execute(NOTEBOOKS / "01_backprop_by_hand.ipynb", wrong))
    assert gradients.startswith("WRONG")
    assert (
        "d out / d a at a = 2: you predicted 4, backward gives -2, "
        "the central difference -2  <- wrong"
    ) in gradients
    assert "d out / d b at b = -3: you predicted 4, backward gives 4" in gradients
    assert derivative.startswith("WRONG")
    assert (
        "at a = -2: expected 0.119203 (1 / (1 + e^-a)), your rule gives 0.880797, "
        "the central difference gives 0.119203  <- wrong"
    ) in derivative
    assert "at a = 0: expected 0.5 (1 / (1 + e^-a)), your rule gives 0.5," in derivative


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_stored_notebooks_hold_outputs_but_no_answers(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code:
        if LIVE_ONLY in tags(cell):
            assert cell.outputs == []  # the player is made only in Jupyter
        else:
            assert cell.execution_count is not None, cell.source  # stored after a run
    said = checks_said(notebook)
    assert len(said) >= 2 and all(text.startswith("NOT ANSWERED YET") for text in said)
    assert path.name in SOLUTIONS  # every notebook's exercises are solved by a test
