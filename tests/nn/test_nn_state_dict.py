"""state_dict, load_state_dict, save and load: round trips, and every rejection."""

import io
import os
import tempfile
import zipfile

import hypothesis
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from minitorch_scalar import Value


def weights(module):
    return [p.data for p in module.parameters()]


def model_and_other():
    return nn.MLP(2, [3, 2], seed=1), nn.MLP(2, [3, 2], seed=2)


# ----------------------------------------------------------------------- state_dict


def test_state_dict_has_pytorch_linear_keys_and_shapes():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    state = model.state_dict()
    assert {k: v.shape for k, v in state.items()} == {
        "layers.0.weight": (16, 2),
        "layers.0.bias": (16,),
        "layers.1.weight": (16, 16),
        "layers.1.bias": (16,),
        "layers.2.weight": (1, 16),
        "layers.2.bias": (1,),
    }
    assert all(v.dtype == np.float64 for v in state.values())
    neuron = model.layers[1].neurons[5]
    assert state["layers.1.weight"][5].tolist() == [w.data for w in neuron.w]
    assert state["layers.1.bias"][5] == neuron.b.data


def test_state_dict_of_a_layer_and_a_neuron():
    layer = nn.Layer(3, 2, seed=0)
    assert {k: v.shape for k, v in layer.state_dict().items()} == {
        "weight": (2, 3),
        "bias": (2,),
    }
    neuron = nn.Neuron(3, seed=0)
    state = neuron.state_dict()
    assert {k: v.shape for k, v in state.items()} == {"weight": (3,), "bias": ()}
    assert state["weight"].tolist() == [w.data for w in neuron.w]


def test_state_dict_is_a_copy():
    model = nn.MLP(2, [3, 1], seed=0)
    before = weights(model)
    model.state_dict()["layers.0.weight"][:] = 99.0
    assert weights(model) == before


def test_load_state_dict_round_trip_keeps_the_same_value_objects():
    model, other = model_and_other()
    params = model.parameters()
    model.load_state_dict(other.state_dict())
    assert weights(model) == weights(other)
    assert all(p is q for p, q in zip(params, model.parameters(), strict=True))
    x = [0.3, -0.7]
    assert [v.data for v in model(x)] == [v.data for v in other(x)]


def test_load_state_dict_accepts_lists_and_integers():
    layer = nn.Layer(2, 2, seed=0)
    layer.load_state_dict({"weight": [[1, 2], [3, 4]], "bias": np.array([5, 6])})
    assert weights(layer) == [1.0, 2.0, 5.0, 3.0, 4.0, 6.0]
    assert all(type(w) is float for w in weights(layer))


def test_load_state_dict_of_a_neuron_with_a_0_d_bias():
    neuron = nn.Neuron(2, seed=0)
    neuron.load_state_dict({"weight": np.array([0.5, 0.25]), "bias": np.float64(-1.0)})
    assert weights(neuron) == [0.5, 0.25, -1.0]


def bad_state_dicts():
    """(description, mutation of a good state dict, error, message). The bad entry is
    the LAST one the model reads, so a load that changed as it went would be caught."""
    return [
        (
            "missing",
            lambda d: d.pop("layers.1.bias"),
            ValueError,
            r"missing \['layers.1.bias'\], unexpected \[\]",
        ),
        (
            "extra",
            lambda d: d.update(extra=np.zeros(1)),
            ValueError,
            r"missing \[\], unexpected \['extra'\]",
        ),
        (
            "shape",
            lambda d: d.update({"layers.1.bias": np.zeros(3)}),
            ValueError,
            r"state_dict\['layers.1.bias'\] expects shape \(2,\), got \(3,\)",
        ),
        (
            "transposed",
            lambda d: d.update({"layers.1.weight": d["layers.1.weight"].T}),
            ValueError,
            r"state_dict\['layers.1.weight'\] expects shape \(2, 3\), got \(3, 2\)",
        ),
        (
            "strings",
            lambda d: d.update({"layers.1.bias": np.array(["a", "b"])}),
            TypeError,
            r"state_dict\['layers.1.bias'\] expects real numbers",
        ),
        (
            "bools",
            lambda d: d.update({"layers.1.bias": np.array([True, False])}),
            TypeError,
            r"state_dict\['layers.1.bias'\] expects real numbers",
        ),
        (
            "ragged",
            lambda d: d.update({"layers.1.bias": [[1.0], [1.0, 2.0]]}),
            ValueError,
            r"state_dict\['layers.1.bias'\] is not a rectangular array",
        ),
    ]


@pytest.mark.parametrize(
    ("mutate", "error", "message"),
    [case[1:] for case in bad_state_dicts()],
    ids=[case[0] for case in bad_state_dicts()],
)
def test_a_bad_state_dict_is_rejected_and_changes_nothing(mutate, error, message):
    model, other = model_and_other()
    before = weights(model)
    state = other.state_dict()
    mutate(state)
    with pytest.raises(error, match=message):
        model.load_state_dict(state)
    assert weights(model) == before


def test_load_state_dict_needs_a_mapping():
    with pytest.raises(TypeError, match="expects a mapping"):
        nn.Neuron(2).load_state_dict([("weight", [1.0, 2.0]), ("bias", 0.0)])


# ------------------------------------------------------------------------ save / load


def test_save_load_round_trip(tmp_path):
    model, other = model_and_other()
    path = tmp_path / "weights.npz"
    other.save(path)
    model.load(path)
    assert weights(model) == weights(other)


def test_save_writes_exactly_the_path_given_and_numpy_reads_it(tmp_path):
    model = nn.MLP(2, [3, 1], seed=0)
    path = tmp_path / "model.weights"
    model.save(str(path))
    assert [p.name for p in tmp_path.iterdir()] == ["model.weights"]
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(model.state_dict())
        assert archive["layers.0.weight"].tolist() == model.state_dict()["layers.0.weight"].tolist()
    fresh = nn.MLP(2, [3, 1], seed=9)
    fresh.load(str(path))
    assert weights(fresh) == weights(model)


def test_save_and_load_a_neuron(tmp_path):
    neuron, other = nn.Neuron(3, seed=0), nn.Neuron(3, seed=1)
    other.save(tmp_path / "n.npz")
    neuron.load(tmp_path / "n.npz")
    assert weights(neuron) == weights(other)


def test_save_to_a_missing_directory_raises_os_error(tmp_path):
    with pytest.raises(OSError, match="no_such_dir"):
        nn.Neuron(2).save(tmp_path / "no_such_dir" / "w.npz")


def write_zip_truncated(path):
    nn.MLP(2, [3, 2], seed=5).save(path)
    path.write_bytes(path.read_bytes()[:100])


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def write_object_array(path):
    """Every name the model expects, one of them an object array (a pickle)."""
    state = nn.MLP(2, [3, 2]).state_dict()
    state["layers.1.bias"] = np.array([1.0, 2.0], dtype=object)
    np.savez(path, **state)


BAD_FILES = [
    ("empty", lambda p: p.write_bytes(b""), "is not a weights file"),
    ("text", lambda p: p.write_text("hello, weights"), "is not a weights file"),
    ("truncated zip", write_zip_truncated, "is not a weights file"),
    ("npy", lambda p: p.write_bytes(npy_bytes(np.zeros(3))), "single array"),
    ("object array", write_object_array, "is not a weights file"),
    (
        "other architecture",
        lambda p: nn.MLP(2, [4, 2], seed=0).save(p),
        r"does not fit this model: "
        r"state_dict\['layers.0.weight'\] expects shape \(3, 2\), got \(4, 2\)",
    ),
    (
        "missing key",
        lambda p: nn.MLP(2, [3], seed=0).save(p),
        r"does not fit this model: state_dict keys: missing \['layers.1",
    ),
    (
        "strings",
        lambda p: np.savez(p, **{**nn.MLP(2, [3, 2]).state_dict(), "layers.1.bias": ["a", "b"]}),
        r"does not fit this model: state_dict\['layers.1.bias'\] expects real numbers",
    ),
]


@pytest.mark.parametrize(
    ("write", "reason"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_a_bad_file_raises_value_error_naming_path_and_reason(tmp_path, write, reason):
    path = tmp_path / "bad.npz"
    write(path)
    model = nn.MLP(2, [3, 2], seed=1)
    before = weights(model)
    with pytest.raises(ValueError, match=reason) as caught:
        model.load(path)
    assert str(path) in str(caught.value)
    assert weights(model) == before


def test_a_missing_file_raises_os_error_naming_the_path(tmp_path):
    model = nn.MLP(2, [3, 2], seed=1)
    before = weights(model)
    path = tmp_path / "nowhere.npz"
    with pytest.raises(OSError, match=r"nowhere\.npz"):
        model.load(path)
    assert weights(model) == before


def test_the_zip_error_is_kept_as_the_cause(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError) as caught:
        nn.Neuron(2).load(path)
    assert isinstance(caught.value.__cause__, zipfile.BadZipFile)


# ------------------------------------------------- non-finite weights, keys that differ


def bits(numbers):
    return np.array(numbers, dtype=np.float64).view(np.uint64).tolist()


ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)


@given(st.lists(ANY_FLOAT, min_size=9, max_size=9))
def test_any_weights_round_trip_bit_for_bit_nan_and_inf_included(numbers):
    """A checkpoint saved after a divergence (nan, inf) loads back, as in PyTorch."""
    model, fresh = nn.MLP(2, [2, 1], seed=0), nn.MLP(2, [2, 1], seed=1)
    for p, x in zip(model.parameters(), numbers, strict=True):
        p.data = x
    fresh.load_state_dict(model.state_dict())
    assert bits(weights(fresh)) == bits(numbers)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "diverged.npz")
        model.save(path)
        other = nn.MLP(2, [2, 1], seed=2)
        other.load(path)
    assert bits(weights(other)) == bits(numbers)


class Handwritten(nn.Module):
    """A module as micrograd's are written: its state_dict is one vector, "parameters"."""

    def __init__(self):
        self.w = [Value(1.0), Value(2.0)]

    def parameters(self):
        return self.w


def modules():
    return {
        "neuron": nn.Neuron(2, seed=0),
        "layer": nn.Layer(2, 3, seed=0),
        "mlp": nn.MLP(2, [3, 1], seed=0),
        "handwritten": Handwritten(),
    }


@pytest.mark.parametrize("kind", sorted(modules()))
@given(data=st.data())
def test_a_missing_or_extra_key_is_a_value_error_naming_it(kind, data):
    module = modules()[kind]
    state = module.state_dict()
    before = weights(module)
    missing = data.draw(st.sets(st.sampled_from(sorted(state))), label="missing")
    extra = data.draw(
        st.sets(st.text("abcxyz._", min_size=1, max_size=6).filter(lambda k: k not in state)),
        label="extra",
    )
    hypothesis.assume(missing or extra)
    bad = {k: v for k, v in state.items() if k not in missing}
    bad.update({k: np.zeros(1) for k in extra})
    with pytest.raises(ValueError) as caught:
        module.load_state_dict(bad)
    for key in missing | extra:
        assert repr(key) in str(caught.value)
    assert weights(module) == before
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "other.npz")
        np.savez(path, **bad)
        with pytest.raises(ValueError, match="does not fit this model") as caught:
            module.load(path)
    for key in missing | extra:
        assert repr(key) in str(caught.value)
    assert weights(module) == before
