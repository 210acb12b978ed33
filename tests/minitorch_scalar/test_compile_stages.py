"""The compiler stage by stage: the first interpreter (compiler/interpret.py) gives the
eager engine's values and gradients to the bit, and each faster stage gives the
interpreter's numbers: the grouped forward every node's value, the backward plan every
leaf's gradient, the layer grid each layer's values and terms."""

import contextlib
import io
import math
import random
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from scalar_article import article_program
from scalar_random_programs import ALL_OPS, MINITORCH, Backend, random_program, run

import minitorch_scalar as ms
import nn
from minitorch_scalar import Value
from minitorch_scalar.compiler import layer_grid
from minitorch_scalar.compiler.backward import backward_plan, run_backward, store_layout
from minitorch_scalar.compiler.forward import Run, Step, forward_steps, run_forward
from minitorch_scalar.compiler.interpret import Interpreter, interpret
from minitorch_scalar.compiler.tape import backward_order, build, record


def bits(x: float):
    return "nan" if math.isnan(x) else struct.pack("<d", x)


def differing(a, b) -> list:
    """The pairs of a and b whose bits differ (any nan as any nan); [] if none do."""
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b) if bits(x) != bits(y)]


PASS_THROUGH = Backend(leaf=lambda v: v, sum=MINITORCH.sum, dot=MINITORCH.dot)


def random_root(seed: int):
    """A random program of every op as a function of its leaves, and its leaves."""
    rng = random.Random(seed)
    inputs = [rng.uniform(-2.0, 2.0) for _ in range(4)]
    program = random_program(rng, inputs, steps=30, ops=ALL_OPS)
    leaves = [Value(x) for x in inputs]
    return (lambda *leaves: run(program, list(leaves), PASS_THROUGH)[-1]), leaves


def mlp_loss(layers: list[int]):
    """An MLP's loss on a batch (its layers on a batch), plus a penalty, and no leaves
    passed: the parameters are found by the trace."""
    model = nn.MLP(3, layers, seed=3)
    x = np.random.default_rng(1).normal(size=(6, 3)).tolist()
    if layers[-1] == 1:
        loss = lambda scores: nn.hinge_loss(scores, [1.0, -1.0] * 3)  # noqa: E731
    else:
        loss = lambda scores: nn.cross_entropy(scores, [0, 1] * 3)  # noqa: E731
    return (lambda: loss(model(x)) + 1e-3 * nn.l2_penalty(model.parameters())), []


def article_loss():
    return (lambda x: article_program(x)["loss"]), [Value(-4.0)]


SOFTPLUS = ms.custom_op("softplus")(
    lambda a: (math.log1p(math.exp(a)), (1.0 / (1.0 + math.exp(-a)),))
)


def max_select_custom():
    """max, select (a constant index among its operands) and a custom op."""
    row = [Value(x) for x in (0.5, -1.0, 2.0, 2.0)]

    def fn(*row):
        values = [x * 1.5 for x in row]
        return SOFTPLUS(ms.max(values) - ms.select(values, 1)) * ms.max([row[2], row[3]])

    return fn, row


PROGRAMS = {
    **{f"random program {seed}": (lambda seed=seed: random_root(seed)) for seed in range(12)},
    "the article's example": article_loss,
    "max, select and a custom op": max_select_custom,
    "an MLP 3-4-1": lambda: mlp_loss([4, 1]),
    "an MLP 3-5-4-2": lambda: mlp_loss([5, 4, 2]),
}


def eager_numbers(fn, args, leaves: list[Value], seed: float) -> list[float]:
    """The output's value and each leaf's gradient, eagerly, each leaf's grad None first."""
    for leaf in leaves:
        leaf.grad = None
    out = fn(*args)
    out.backward(seed)
    return [out.data, *(leaf.grad for leaf in leaves)]


def shift_leaves(leaves: list[Value]) -> None:
    """New data for every leaf: a replay must read the leaves, not the trace's numbers."""
    for leaf in leaves:
        leaf.data = leaf.data * 0.875 + 0.0625


# ---------------------------------------------------------------- the interpreter == eager


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_interpreter_gives_eager_values_and_gradients_to_the_bit(name) -> None:
    """Every node's value as the engine computed it in the trace; then the output and
    every leaf's gradient as eagerly, on the traced data and on new data."""
    fn, args = PROGRAMS[name]()
    root, made = record(fn, args)
    tape = build([root], [], made)
    interpreter = Interpreter(tape, root)
    values = interpreter.forward()
    nodes = [node.slot for node in interpreter.program]
    assert not differing([values[s] for s in nodes], [tape.template[s] for s in nodes])
    leaves = [leaf for leaf, _ in interpreter.leaves]
    for _ in range(2):  # the traced data, then new data (an MLP's only: valid anywhere)
        values = interpreter.forward()
        grads = interpreter.backward(values, 0.75)
        mine = [values[interpreter.visit[0]], *(grads[slot] for _, slot in interpreter.leaves)]
        assert not differing(mine, eager_numbers(fn, args, leaves, 0.75))
        if "MLP" not in name:
            break
        shift_leaves(leaves)


def test_the_interpreter_lists_the_article_as_one_instruction_per_node() -> None:
    fn, args = article_loss()
    program = [str(node) for node in interpret(fn, *args).program]
    assert len(program) == 9  # z, y1, s, relu, +, +, -, *, +
    assert program[:2] == ["s3 = *(s1, s2)", "s5 = +(s3, s4)"]


def test_the_interpreter_refuses_an_output_that_is_not_a_node() -> None:
    x = Value(2.0)
    with pytest.raises(TypeError, match="return a Value, got float"):
        interpret(lambda x: x.data * 2.0, x)
    with pytest.raises(ValueError, match="computed by ops, got Value"):
        interpret(lambda x: x, x)


def test_the_docs_example_of_the_interpreter_prints_what_it_says() -> None:
    """docs/compiler.md, section 0: its example runs, and prints the numbers its
    comments give (the engine's: the article's loss and gradient at x = -4 and 3)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "compiler.md").read_text()
    section = text.split("## 0. The simplest replay", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"^```python\n(.*?)^```", section, flags=re.S | re.M)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(example, {})
    lines = printed.getvalue().splitlines()
    assert lines[:2] == ["s3 = *(s1, s2)", "s5 = +(s3, s4)"]
    assert lines[-2:] == ["-318.0 [220.0]", "95.0 [94.0]"]
    for x in (-4.0, 3.0):
        leaf = Value(x)
        out = article_program(leaf)["loss"]
        out.backward()
        assert f"{out.data} [{leaf.grad}]" in lines


# ------------------------------------------------- each faster stage == the interpreter


class Stages:
    """fn traced once; the interpreter made from its tape, then the tape grouped into
    steps (which moves the nodes to new slots: `moved` pairs each Value's slots)."""

    def __init__(self, fn, args) -> None:
        self.root, made = record(fn, args)
        self.tape = build([self.root], [], made)
        self.interpreter = Interpreter(self.tape, self.root)
        before = dict(self.tape.slot_of)
        self.steps = forward_steps(self.tape)
        after = self.tape.slot_of
        self.moved = [(before[v], after[v]) for v in before if isinstance(v, Value)]
        self.leaves = [leaf for leaf, _ in self.interpreter.leaves]

    def grouped_forward(self) -> np.ndarray:
        """The steps' values, from the leaves' current data, every node's slot nan first."""
        values = np.array(self.tape.template, dtype=np.float64)
        values[len(values) - self.tape.node_count :] = np.nan
        for leaf in self.leaves:
            values[self.tape.slot_of[leaf]] = leaf.data
        run_forward(self.steps, values)
        return values

    def planned_backward(self, values: np.ndarray, seed: float) -> tuple[list[int], np.ndarray]:
        """The plan's gradients by slot, and the leaves' slots it hands them to."""
        visit, reached = backward_order(self.root, self.tape)
        plan = backward_plan(self.steps, len(values), visit, reached)
        return reached, run_backward(plan, values, int(visit[0]), seed)


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_grouped_forward_gives_every_node_the_interpreters_value(name) -> None:
    stages = Stages(*PROGRAMS[name]())
    if "MLP" in name:  # new data (a random program's is valid on its own data only)
        shift_leaves(stages.leaves)
    mine, grouped = stages.interpreter.forward(), stages.grouped_forward()
    assert not differing(
        [mine[old] for old, _ in stages.moved], [grouped[new] for _, new in stages.moved]
    )


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_backward_plan_gives_every_leaf_the_interpreters_gradient(name) -> None:
    stages = Stages(*PROGRAMS[name]())
    if "MLP" in name:
        shift_leaves(stages.leaves)
    mine = stages.interpreter.backward(stages.interpreter.forward(), 0.75)
    reached, planned = stages.planned_backward(stages.grouped_forward(), 0.75)
    old_of = {new: old for old, new in stages.moved}
    assert len(reached) == len(stages.interpreter.reached)
    assert not differing([mine[old_of[s]] for s in reached], [planned[s] for s in reached])


def node_terms(node, values: list[float], grads: list[float]) -> list[float]:
    """What one node sends its operands, as the interpreter computes it: local * grad."""
    x = [values[s] for s in node.operands]
    return node.rule.scalar_terms(x, values[node.slot], grads[node.slot])


@pytest.mark.parametrize("few_at_a_time", [False, True])
def test_each_layer_grid_gives_the_interpreters_values_and_terms(few_at_a_time, monkeypatch):
    """Fed the interpreter's numbers, each layer on a batch computes its nodes' values
    and the terms they send their rows and inputs as the interpreter does, node by node;
    also with its forward's terms made a few rows at a time (as a large layer's are:
    here 5 rows, so that a layer of 5 weights or more takes two rounds or more)."""
    if few_at_a_time:
        monkeypatch.setattr(layer_grid, "ALL_TERMS", 0)
        monkeypatch.setattr(layer_grid, "CACHED_TERMS", 1)
    stages = Stages(*mlp_loss([9, 5, 2]))
    values = np.array(stages.tape.template, dtype=np.float64)  # the constants, then:
    grads = np.zeros(len(values))
    mine = stages.interpreter.forward()
    my_grads = stages.interpreter.backward(mine, 1.0)
    for old, new in stages.moved:
        values[new], grads[new] = mine[old], my_grads[old]
    grids = [step for step in stages.steps if type(step) is Step and step.grid is not None]
    assert len(grids) == 3  # one per layer
    node_at = {node.slot: node for node in stages.interpreter.program}
    old_of = {new: old for old, new in stages.moved}
    for step in grids:
        grid, out = step.grid, np.arange(step.out.start, step.out.stop)
        assert not differing(grid.values(values), values[out])
        nodes = [node_at[old_of[slot]] for slot in out.tolist()]  # (input s, row j), s-major
        terms = np.array([node_terms(node, mine, my_grads) for node in nodes])
        s, r, k = len(grid.inputs), len(grid.rows), grid.inputs.shape[1]
        row_terms = grid.row_terms(values, grads[out])
        assert not differing(row_terms.ravel(), terms[:, : k + 1].reshape(s, -1).ravel())
        input_terms = grid.input_terms(values, grads[out])
        expected = terms[:, k + 1 :].reshape(s, r, k).transpose(1, 0, 2).reshape(r, -1)
        assert not differing(input_terms.ravel(), expected.ravel())


def test_a_compiled_step_and_the_interpreter_agree_on_a_model_in_training() -> None:
    """End to end, beside the stages: compile's replay and the interpreter, on the
    parameters after each of a few SGD steps."""
    fn, _ = mlp_loss([4, 1])
    interpreter, step = interpret(fn), ms.compile(fn)
    leaves = [leaf for leaf, _ in interpreter.leaves]
    for _ in range(3):
        values = interpreter.forward()
        grads = interpreter.backward(values)
        for leaf in leaves:
            leaf.grad = None
        out = step()
        out.backward()
        assert not differing([out.data], [values[interpreter.visit[0]]])
        assert not differing(
            [leaf.grad for leaf in leaves], [grads[s] for _, s in interpreter.leaves]
        )
        for leaf in leaves:
            leaf.data -= 0.1 * leaf.grad


def interpreter_term_counts(stages: Stages, slots: int) -> np.ndarray:
    """How many terms each slot gets in the interpreter's backward (one per parent
    operand of each node it visits), by the grouped slots."""
    new_of = dict(stages.moved)
    node_at = {node.slot: node for node in stages.interpreter.program}
    count = np.zeros(slots, dtype=np.intp)
    for old in stages.interpreter.visit:
        node = node_at[old]
        for operand, is_parent in zip(node.operands, node.parents):
            if is_parent:  # (a constant has no term)
                count[new_of[operand]] += 1
    return count


@pytest.mark.parametrize("name", [*PROGRAMS, "a chain (a run)"])
def test_the_store_layout_gives_every_term_a_place_of_its_own_in_rank_order(name) -> None:
    """`place_of` as the layout uses it, from the interpreter's count of each slot's
    terms: every term read has a place no other term has; in a block, the term of rank
    k is in row 1 + k of its receiver's column (so the block's sum adds it k-th); a node
    with one term takes it at its own slot; a run's node, at consecutive places."""
    if name == "a chain (a run)":
        x = Value(0.3)
        stages = Stages(lambda x: chain_of(x, 40), [x])
        assert any(type(step) is Run for step in stages.steps)
    else:
        stages = Stages(*PROGRAMS[name]())
    slots = len(stages.tape.template)
    visit, reached = backward_order(stages.root, stages.tape)
    count = interpreter_term_counts(stages, slots)
    layout = store_layout(stages.steps, slots, visit, reached, count)
    taken: list[int] = []
    for receiver in np.flatnonzero(count).tolist():
        if not layout.is_read(np.array([receiver])).all():
            continue
        places = layout.place(np.full(count[receiver], receiver), np.arange(count[receiver]))
        taken += places.tolist()
        index = layout.block_index[receiver]
        if index >= 0:
            block = layout.blocks[index]
            column = np.flatnonzero(np.arange(slots)[block.receivers] == receiver)[0]
            rows = (places - block.start - column) / block.width
            assert rows.tolist() == list(range(1, count[receiver] + 1))
        elif count[receiver] == 1:
            assert places.tolist() == [receiver]
        else:
            assert np.diff(places).tolist() == [1] * (count[receiver] - 1)
            assert places[0] >= slots
    assert len(taken) == len(set(taken)) and min(taken) > 0 and max(taken) < layout.size
    assert any(b.depth == -1 for b in layout.blocks)  # the leaves sum in blocks


def chain_of(x, n: int):
    """A chain of n small steps (one node each), with a node used twice: a run."""
    for _ in range(n):
        x = (x * 1.5).tanh() + x
    return x


@pytest.mark.parametrize("few_at_a_time", [False, True])
def test_a_layer_of_one_row_on_one_input_sums_its_terms_in_order(few_at_a_time, monkeypatch):
    """A layer grid of a single dot (one row, one input) has one column of terms, the
    one layout where numpy's reduce would add in pairs: its sum is still left to right,
    on numbers whose sum depends on the order, all at once or 16 rows at a time. (The
    tape makes a lone dot a scalar node, so the grid is built here by hand.)"""
    if few_at_a_time:
        monkeypatch.setattr(layer_grid, "ALL_TERMS", 0)
        monkeypatch.setattr(layer_grid, "CACHED_TERMS", 16)
    rng = np.random.default_rng(7)
    k = 40
    weights = (rng.normal(size=k + 1) * np.exp(rng.normal(size=k + 1) * 3)).tolist()
    inputs = rng.normal(size=k).tolist()
    values = np.array([0.0, *weights, *inputs])  # slot 0, then bias and weights, then x
    grid = layer_grid.LayerGrid(
        np.arange(1, k + 2)[None, :],
        np.arange(k + 2, 2 * k + 2)[None, :],
        np.ones((1, k + 1), dtype=bool),
        np.ones((1, k), dtype=bool),
    )
    left_to_right = weights[0]
    for w, x in zip(weights[1:], inputs):
        left_to_right += w * x
    assert math.fsum(w * x for w, x in zip(weights[1:], inputs)) + weights[0] != left_to_right
    assert grid.values(values).tolist() == [left_to_right]
