"""gradcheck itself: it passes correct gradients, catches wrong ones, and leaves no trace.

A deliberately wrong backward is built with the public API: `detach()` or `no_grad()`
hide one path of the function from backward while the numbers still see it.
"""

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch_scalar as ms
from minitorch_scalar import GradcheckError, Value, gradcheck, no_grad


def _reported(message: str, index: int) -> tuple[float, float]:
    """The (backward, numerical) pair that the message gives for input `index`."""
    number = r"(-?[\d.e+-]+|nan|inf|-inf)"
    match = re.search(rf"input {index}\b.*backward {number}, numerical {number}", message)
    assert match, f"input {index} is not reported in: {message}"
    return float(match.group(1)), float(match.group(2))


def test_passes_on_correct_gradients() -> None:
    def f(a: Value, b: Value, c: Value) -> Value:
        return (a * b + c.exp()).tanh() / (1 + c * c) + a**b

    assert gradcheck(f, [Value(0.7), Value(1.3), Value(-0.4)]) is True


def test_a_wrong_gradient_raises_naming_the_input_and_both_numbers() -> None:
    """f(a, b) = a * b + b * b with the b * b path hidden from backward on one side:
    backward says df/db = a + b, the numbers say a + 2b."""
    a, b = Value(3.0, label="a"), Value(0.5, label="b")
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: a * b + b * b.detach(), [a, b])
    message = str(info.value)
    assert "input 0" not in message  # a's gradient is right
    assert "(b)" in message  # the label is shown
    analytic, numerical = _reported(message, 1)
    assert analytic == 3.5
    assert numerical == pytest.approx(4.0, rel=1e-6)


def test_every_disagreeing_input_is_listed() -> None:
    def hidden(a: Value, b: Value) -> Value:
        with no_grad():
            c = a * b  # seen by the numbers, not by backward
        return c + a + b

    with pytest.raises(GradcheckError) as info:
        gradcheck(hidden, [Value(2.0), Value(5.0)])
    message = str(info.value)
    assert _reported(message, 0)[0] == 1.0
    assert _reported(message, 0)[1] == pytest.approx(6.0, rel=1e-6)
    assert _reported(message, 1)[0] == 1.0
    assert _reported(message, 1)[1] == pytest.approx(3.0, rel=1e-6)


def test_a_kink_is_caught_relu_at_zero() -> None:
    """relu'(0) = 0 by convention, the central difference is 1/2."""
    with pytest.raises(GradcheckError) as info:
        gradcheck(Value.relu, [Value(0.0)])
    assert _reported(str(info.value), 0) == (0.0, pytest.approx(0.5))


def test_gradcheck_error_is_an_assertion_error() -> None:
    assert issubclass(GradcheckError, AssertionError)


def test_tolerances_decide_how_close_is_close() -> None:
    """backward misses 1e-3 * b: within atol=1e-2, outside the default 1e-5 + 1e-4 * |n|."""

    def off_by_a_little(b: Value) -> Value:
        return b + 1e-3 * b.detach()

    assert gradcheck(off_by_a_little, [Value(1.0)], atol=1e-2)
    assert gradcheck(off_by_a_little, [Value(1.0)], atol=0.0, rtol=1e-2)
    with pytest.raises(GradcheckError):
        gradcheck(off_by_a_little, [Value(1.0)])


@pytest.mark.parametrize("fails", [False, True], ids=["passing", "failing"])
def test_inputs_data_and_grad_are_left_as_they_were(fails: bool) -> None:
    a, b = Value(1.5), Value(-0.5)
    a.grad, b.grad = 7.0, -2.0

    def f(a: Value, b: Value) -> Value:
        return a * (b.detach() if fails else b)

    if fails:
        with pytest.raises(GradcheckError):
            gradcheck(f, [a, b])
    else:
        assert gradcheck(f, [a, b])
    assert (a.data, b.data, a.grad, b.grad) == (1.5, -0.5, 7.0, -2.0)
    assert (a.op, b.op, a.parents, b.parents) == ("", "", (), ())


def test_inputs_are_restored_when_fn_raises_midway() -> None:
    x = Value(1.0)
    x.grad = 4.0
    calls = []

    def fragile(v: Value) -> Value:
        calls.append(v.data)
        if len(calls) == 2:  # the first call of the central difference, at x + eps
            raise RuntimeError("fn failed")
        return v * v

    with pytest.raises(RuntimeError):
        gradcheck(fragile, [x])
    assert calls[1] != 1.0  # the failure really came with x moved
    assert (x.data, x.grad) == (1.0, 4.0)


@pytest.mark.parametrize("bad", [1.0, None, "x"], ids=repr)
def test_rejects_inputs_that_are_not_values(bad) -> None:
    with pytest.raises(TypeError) as info:
        gradcheck(lambda a, b: a * b, [Value(1.0), bad])
    message = str(info.value)
    assert "gradcheck" in message
    assert type(bad).__name__ in message
    assert "at 1" in message


@pytest.mark.parametrize("eps", [0.0, -1e-6, math.nan])
def test_rejects_a_non_positive_eps(eps: float) -> None:
    with pytest.raises(ValueError, match=r"gradcheck.*eps.*" + re.escape(repr(eps))):
        gradcheck(Value.exp, [Value(1.0)], eps=eps)


@pytest.mark.parametrize(("atol", "rtol"), [(-1e-5, 1e-4), (1e-5, -1e-4)])
def test_rejects_negative_tolerances(atol: float, rtol: float) -> None:
    with pytest.raises(ValueError, match="atol, rtol"):
        gradcheck(Value.exp, [Value(1.0)], atol=atol, rtol=rtol)


def test_rejects_a_function_that_does_not_return_a_value() -> None:
    x = Value(2.0)
    with pytest.raises(TypeError, match="fn to return a Value, got float"):
        gradcheck(lambda v: v.data * 2, [x])
    assert x.grad == 0.0


def test_works_on_fused_and_shared_inputs() -> None:
    xs = [Value(0.3), Value(-0.8), Value(1.1)]
    assert gradcheck(lambda a, b, c: ms.dot([a, b, c], [c, a, b], bias=a * a).sigmoid(), xs)


def test_a_nan_gradient_is_a_disagreement() -> None:
    """f(a) = sqrt(relu(a)) * 0 + a is a, slope 1; at a = 0 backward multiplies the
    infinite slope of sqrt at 0 by 0 and gets nan, which gradcheck must report."""

    def f(a: Value) -> Value:
        return a.relu() ** 0.5 * 0.0 + a

    x = Value(0.0)
    f(x).backward()
    assert math.isnan(x.grad)  # the premise: backward really gives nan here
    with pytest.raises(GradcheckError):
        gradcheck(f, [Value(0.0)])


def test_inside_no_grad_it_says_it_has_no_graph_instead_of_failing_every_input() -> None:
    x = Value(0.5)
    with no_grad(), pytest.raises(ValueError, match="inside no_grad"):
        gradcheck(lambda v: v.tanh(), [x])
    assert (x.data, x.grad) == (0.5, 0.0)


@pytest.mark.parametrize("eps", [10**400, -(10**400), math.inf], ids=["1e400", "-1e400", "inf"])
def test_an_eps_no_float_can_hold_is_a_value_error_naming_it(eps: object) -> None:
    with pytest.raises(ValueError, match=r"gradcheck\(eps\)|finite eps"):
        gradcheck(Value.exp, [Value(1.0)], eps=eps)


ANY_TOLERANCE = st.one_of(
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.fractions(),
    st.decimals(allow_nan=False),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.integers(-1000, 1000).map(np.int64),
    st.floats(allow_nan=True, allow_infinity=True).map(np.float64),
)


@given(name=st.sampled_from(["eps", "atol", "rtol"]), number=ANY_TOLERANCE)
def test_any_tolerance_is_used_or_refused_by_name(name: str, number: object) -> None:
    """Whatever a tolerance is, gradcheck checks with it or raises TypeError or
    ValueError naming it: never Python's bare OverflowError, never another error."""
    x = Value(0.5)
    try:
        gradcheck(lambda v: v * v, [x], **{name: number})
    except GradcheckError:
        pass  # a legitimate answer for a huge eps or a zero tolerance
    except (TypeError, ValueError) as error:
        assert name in str(error)
    assert (x.data, x.grad) == (0.5, 0.0)
