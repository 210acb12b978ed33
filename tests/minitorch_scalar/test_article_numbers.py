"""The article's worked numbers, on this engine (its PyTorch runs are in test_parity_torch)."""

from scalar_article import article_program

from minitorch_scalar import Value, gradcheck


def test_the_pytorch_program_forward_and_backward_at_x_minus_2() -> None:
    x = Value(-2.0)
    nodes = article_program(x)
    # Step 1 (forward): x(-2) z(-4) y1(1) y2(17) loss(-50)
    values = {name: node.data for name, node in nodes.items()}
    assert values == {"z": -4.0, "y1": 1.0, "s": 16.0, "y2": 17.0, "loss": -50.0}
    nodes["loss"].backward()
    # Step 2 (backward): x.grad 64, z 25, y1 1, y2 -3, loss 1; s gets y2's -3 (relu'(16) = 1)
    grads = {name: node.grad for name, node in nodes.items()}
    assert grads == {"z": 25.0, "y1": 1.0, "s": -3.0, "y2": -3.0, "loss": 1.0}
    assert x.grad == 64.0


def test_the_pytorch_program_gradient_by_hand_and_by_central_differences() -> None:
    """Where 4x^2 > 0, y2 = 4x^2 + x + 3 and loss = 2x + 5 + y2 (x - 1)
    = 4x^3 - 3x^2 + 4x + 2, so dloss/dx = 12x^2 - 6x + 4: -50 and 64 at x = -2."""
    x = -2.0
    assert 4 * x**3 - 3 * x**2 + 4 * x + 2 == -50.0
    assert 12 * x**2 - 6 * x + 4 == 64.0
    for at in (-2.0, 0.75, 3.0):
        v = Value(at)
        article_program(v)["loss"].backward()
        assert v.grad == 12 * at**2 - 6 * at + 4
        assert gradcheck(lambda v: article_program(v)["loss"], [Value(at)])


def test_problem_1_identity() -> None:
    """y = z; z = 1, grad_y = 1 -> y = 1, grad_z = 1."""
    z = Value(1.0)
    y = z
    y.backward()
    assert (y.data, z.grad) == (1.0, 1.0)


def test_problem_2_chain_of_two_ops() -> None:
    """y = 2z, z = x^2, x = 2 -> z = 4, y = 8, grad_z = 2, grad_x = 8."""
    x = Value(2.0)
    z = x**2
    y = 2 * z
    y.backward()
    assert (z.data, y.data) == (4.0, 8.0)
    assert (z.grad, x.grad) == (2.0, 8.0)


def test_a_seeded_backward_2_x0_minus_x1() -> None:
    """y_1 = 2 x_0 - x_1 at x = (1, 2), y_1.backward(3) -> x_0.grad = 2 * 3 = 6."""
    x0, x1 = Value(1.0), Value(2.0)
    y1 = 2 * x0 - x1
    y1.backward(3)
    assert (y1.data, x0.grad, x1.grad) == (0.0, 6.0, -3.0)


def test_formula_6_accumulates_into_the_old_gradient() -> None:
    """grad x_0 new = grad x_0 old + (dy/dx) * grad y = 2 + 2 * 3 = 8: the old 2 comes
    from y_0 = f_0(x_0) with dy_0/dx_0 = 2, run first."""
    x0, x1 = Value(1.0), Value(2.0)
    y0 = 2 * x0
    y0.backward()
    assert x0.grad == 2.0
    (2 * x0 - x1).backward(3)
    assert x0.grad == 8.0


def test_the_package_docstring_runs_the_article_program() -> None:
    import doctest

    import minitorch_scalar

    result = doctest.testmod(minitorch_scalar)
    assert result.attempted >= 7
    assert result.failed == 0
