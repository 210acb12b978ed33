"""no_grad(): a context manager and a decorator under which ops record no graph."""

import pytest

import minitorch_scalar as ms
from minitorch_scalar import Value, grad_mode, is_grad_enabled, no_grad

OPS = {
    "add": lambda x, y: x + y,
    "radd": lambda x, y: 1 + x,
    "sub": lambda x, y: x - y,
    "rsub": lambda x, y: 1 - x,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "rdiv": lambda x, y: 1 / x,
    "pow": lambda x, y: x**y,
    "pow number": lambda x, y: x**2,
    "rpow": lambda x, y: 2**x,
    "neg": lambda x, y: -x,
    "relu": lambda x, y: x.relu(),
    "tanh": lambda x, y: x.tanh(),
    "exp": lambda x, y: x.exp(),
    "log": lambda x, y: x.log(),
    "sigmoid": lambda x, y: x.sigmoid(),
    "sum": lambda x, y: ms.sum([x, y]),
    "dot Values": lambda x, y: ms.dot([x], [y], bias=x),
    "dot numbers": lambda x, y: ms.dot([x, y], [1.0, 2.0]),
    "dot mixed": lambda x, y: ms.dot([x, 2.0], [y, x]),
}


@pytest.mark.parametrize("op", OPS.values(), ids=OPS.keys())
def test_ops_under_no_grad_give_leaves_with_the_same_data(op) -> None:
    x, y = Value(1.5), Value(0.5)
    recorded = op(x, y)
    with no_grad():
        assert not is_grad_enabled()
        out = op(x, y)
    assert recorded.parents  # the same op records a node outside no_grad
    assert (out.op, out.parents, out.grad) == (recorded.op, (), 0.0)  # it says what made it
    assert out.data == recorded.data
    with pytest.raises(ValueError, match="no_grad"):  # as PyTorch: nothing to flow back through
        out.backward()
    assert (x.grad, y.grad, out.grad) == (0.0, 0.0, 0.0)


def test_grad_mode_is_restored_after_the_block() -> None:
    assert is_grad_enabled()
    with no_grad():
        pass
    assert is_grad_enabled()
    x = Value(2.0)
    assert (x * x).parents == (x, x)


def test_nested_blocks_restore_the_mode_each_one_found() -> None:
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()  # the inner exit restores the outer's "off"
    assert is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception() -> None:
    with pytest.raises(KeyError), no_grad():
        raise KeyError("boom")
    assert is_grad_enabled()


def test_as_a_decorator_the_function_records_no_graph_and_the_mode_comes_back() -> None:
    @no_grad()
    def predict(w: Value, x: float) -> Value:
        assert not is_grad_enabled()
        return (w * x).tanh()

    w = Value(0.5)
    y = predict(w, 2.0)
    assert (y.op, y.parents) == ("tanh", ())
    assert is_grad_enabled()
    assert predict.__name__ == "predict"  # functools.wraps keeps the name


def test_decorated_function_that_raises_restores_the_mode() -> None:
    @no_grad()
    def fail() -> None:
        raise RuntimeError("inside")

    with pytest.raises(RuntimeError):
        fail()
    assert is_grad_enabled()


def test_a_graph_built_before_no_grad_still_backpropagates() -> None:
    x = Value(3.0)
    y = x * x
    with no_grad():
        y.backward()
    assert x.grad == 6.0


def test_a_recursive_decorated_function_restores_the_mode(monkeypatch) -> None:
    monkeypatch.setattr(grad_mode.mode, "now", grad_mode.Mode())  # undone at teardown if it leaks

    @no_grad()
    def depth(n: int) -> int:
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(2) == 2
    assert is_grad_enabled()


def test_a_bare_decorator_works_as_in_pytorch() -> None:
    @no_grad
    def double(v: Value) -> Value:
        assert not is_grad_enabled()
        return v * 2

    out = double(Value(3.0))
    assert (out.data, out.op, out.parents) == (6.0, "*", ())
    assert is_grad_enabled()


def test_no_grad_of_something_not_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="function to decorate, got int"):
        no_grad(3)


def test_grad_mode_is_per_thread_and_cannot_stick_off() -> None:
    """A enters, B enters, A exits, B exits: each thread restores its own mode, and a
    thread that never entered records all along (PyTorch's grad mode is per thread)."""
    import threading

    a_entered, b_entered, a_exited = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def thread_a() -> None:
        with no_grad():
            a_entered.set()
            b_entered.wait(5)
            seen["a inside"] = is_grad_enabled()
        a_exited.set()
        seen["a after"] = is_grad_enabled()

    def thread_b() -> None:
        a_entered.wait(5)
        with no_grad():
            b_entered.set()
            a_exited.wait(5)
            seen["b inside"] = is_grad_enabled()
        seen["b after"] = is_grad_enabled()

    workers = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for worker in workers:
        worker.start()
    a_entered.wait(5)
    seen["main while a is inside"] = is_grad_enabled()
    for worker in workers:
        worker.join(10)
    assert seen == {
        "a inside": False,
        "b inside": False,
        "a after": True,
        "b after": True,
        "main while a is inside": True,
    }
    x = Value(2.0)
    (x * x).backward()
    assert x.grad == 4.0


def test_a_decorated_generator_runs_each_step_without_grad_and_the_caller_with() -> None:
    @no_grad()
    def doubles(values):
        for v in values:
            assert not is_grad_enabled()
            received = yield v * 2
            assert not is_grad_enabled()
            if received is not None:
                yield received

    x = Value(1.5)
    steps = doubles([x, x])
    first = next(steps)
    assert is_grad_enabled()  # between steps, the caller's mode
    assert (first.data, first.parents) == (3.0, ())
    assert steps.send(Value(7.0)).data == 7.0
    assert [out.parents for out in steps] == [()]
    assert is_grad_enabled()


def test_a_decorated_generator_returns_its_value_and_passes_thrown_errors() -> None:
    @no_grad
    def counter():
        try:
            yield 1
        except KeyError:
            assert not is_grad_enabled()
            yield "caught"
        return "done"

    steps = counter()
    assert next(steps) == 1
    assert steps.throw(KeyError("k")) == "caught"
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value == "done"
    assert is_grad_enabled()
