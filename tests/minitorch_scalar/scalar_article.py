"""The article's program, shared by the tests of its numbers on this engine and on torch."""

from minitorch_scalar import Value


def article_program(x: Value) -> dict[str, Value]:
    """The article's formulas (1)-(5): z = 2x, y1 = z + 5, s = z*z, y2 = relu(s) + x + 3,
    loss = y1 - y2 + y2 * x. Returns every intermediate node by name."""
    z = 2 * x
    y1 = z + 5
    s = z * z
    y2 = s.relu() + x + 3
    loss = y1 - y2 + y2 * x
    return {"z": z, "y1": y1, "s": s, "y2": y2, "loss": loss}
