"""save() is atomic and takes only paths; load() checks a file before reading a number.

The crafted archives are written here, byte by byte where numpy would not write them.
"""

import io
import os
import re
import struct
import threading
import zipfile
import zlib

import numpy as np
import pytest
from numpy.lib import format as npy

import nn


def weights(module):
    return [p.data for p in module.parameters()]


def npy_header(descr, shape, version=(1, 0)):
    """The bytes of an .npy header declaring `descr` and `shape`, with no data after it."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    magic = b"\x93NUMPY" + bytes(version)
    size_format = "<H" if version == (1, 0) else "<I"
    padding = -(len(magic) + struct.calcsize(size_format) + len(header) + 1) % 64
    header += b" " * padding + b"\n"
    return magic + struct.pack(size_format, len(header)) + header


def write_archive(path, members, compression=zipfile.ZIP_STORED):
    """An .npz archive with these {member name: bytes}."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def good_members(model):
    return {f"{k}.npy": npy_bytes(v) for k, v in model.state_dict().items()}


def neuron_members(model, **replace):
    members = good_members(model)
    members.update(replace)
    return members


# ------------------------------------------------------------------------------ save


def test_a_failed_save_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    old = nn.Neuron(3, seed=0)
    old.save(path)
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        nn.Neuron(3, seed=1).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]


def test_an_exception_while_writing_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    nn.Neuron(3, seed=0).save(path)
    before = path.read_bytes()

    def savez_fails_half_way(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", savez_fails_half_way)
    with pytest.raises(KeyboardInterrupt):
        nn.Neuron(3, seed=1).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]


def test_a_failed_state_dict_writes_nothing(tmp_path):
    class Broken(nn.Module):
        def parameter_groups(self):
            raise RuntimeError("cannot name my parameters")

    with pytest.raises(RuntimeError):
        Broken().save(tmp_path / "w.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    def replace_fails(src, dst):
        raise PermissionError("locked")

    monkeypatch.setattr(os, "replace", replace_fails)
    with pytest.raises(PermissionError):
        nn.Neuron(2).save(tmp_path / "w.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "w.npz"
    nn.Neuron(2, seed=0).save(path)
    second = nn.Neuron(2, seed=1)
    second.save(path)
    loaded = nn.Neuron(2, seed=2)
    loaded.load(path)
    assert weights(loaded) == weights(second)
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]


@pytest.mark.parametrize("path", [1, True, 2.5, None, b"w.npz", ["w.npz"]])
def test_save_and_load_take_only_a_str_or_a_path_like(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TypeError, match=r"save\(path\) expects a path"):
        nn.Neuron(2).save(path)
    with pytest.raises(TypeError, match=r"load\(path\) expects a path"):
        nn.Neuron(2).load(path)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ load


def craft_huge_shape(path):
    """A few hundred bytes: the right names, one header declaring 2**40 float64s (8 TB)
    and no data."""
    members = neuron_members(nn.Neuron(3), **{"weight.npy": npy_header("<f8", (2**40,))})
    write_archive(path, members)


def craft_unexpected_bomb(path):
    """A few kilobytes compressing a member that inflates to 200 MB."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in good_members(nn.Neuron(3)).items():
            archive.writestr(name, data)
        with archive.open("extra.npy", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(200):
                member.write(chunk)


def craft_expected_bomb(path):
    """An expected name whose member inflates to 200 MB: too large for its shape."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bias.npy", npy_bytes(np.float64(0.5)))
        with archive.open("weight.npy", "w", force_zip64=True) as member:
            member.write(npy_header("<f8", (3,)))
            chunk = bytes(1 << 20)
            for _ in range(200):
                member.write(chunk)


def craft_truncated_member(path):
    """A header for 3 numbers followed by 2."""
    data = npy_header("<f8", (3,)) + np.zeros(2).tobytes()
    write_archive(path, neuron_members(nn.Neuron(3), **{"weight.npy": data}))


def craft_trailing_bytes(path):
    data = npy_bytes(np.zeros(3)) + b"more"
    write_archive(path, neuron_members(nn.Neuron(3), **{"weight.npy": data}))


def craft_bad_crc(path):
    nn.Neuron(3, seed=0).save(path)
    raw = bytearray(path.read_bytes())
    at = raw.index(np.float64(nn.Neuron(3, seed=0).w[0].data).tobytes())
    raw[at] ^= 0xFF  # a number changed after the CRC was computed
    path.write_bytes(bytes(raw))


def craft_bad_header(path):
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", 10) + b"{junk: 1}\n"
    write_archive(path, neuron_members(nn.Neuron(3), **{"weight.npy": data}))


def craft_version_3(path):
    data = npy_header("<f8", (3,), version=(2, 0)).replace(b"\x02\x00", b"\x03\x00", 1)
    write_archive(path, neuron_members(nn.Neuron(3), **{"weight.npy": data}))


def craft_pickled_object(path):
    data = npy_header("|O", (3,)) + b"\x80\x04pickle"
    write_archive(path, neuron_members(nn.Neuron(3), **{"weight.npy": data}))


def craft_not_npy_member(path):
    write_archive(path, {"weight": b"hello", "bias.npy": npy_bytes(np.float64(0.0))})


def craft_duplicate_member(path):
    with pytest.warns(UserWarning, match="Duplicate name"):
        write_archive(path, neuron_members(nn.Neuron(3), **{"weight.npy": npy_bytes(np.ones(3))}))
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("weight.npy", npy_bytes(np.zeros(3)))


def craft_name_twice(path):
    members = good_members(nn.Neuron(3))
    write_archive(path, {**members, "weight": members["weight.npy"]})


def craft_bad_deflate(path):
    write_archive(path, good_members(nn.Neuron(3)), compression=zipfile.ZIP_DEFLATED)
    raw = bytearray(path.read_bytes())
    start = raw.index(b"weight.npy") + len(b"weight.npy")
    raw[start + 2 : start + 12] = b"\xff" * 10
    path.write_bytes(bytes(raw))


def craft_complex(path):
    write_archive(path, neuron_members(nn.Neuron(3), **{"weight.npy": npy_bytes(np.zeros(3) * 1j)}))


def craft_wrong_2d_shape(path):
    write_archive(path, neuron_members(nn.Neuron(3), **{"weight.npy": npy_bytes(np.zeros((3, 1)))}))


CRAFTED = [
    (
        "shape 2**40",
        craft_huge_shape,
        r"expects shape \(3,\), got \(1099511627776,\)",
    ),
    ("unexpected compressed bomb", craft_unexpected_bomb, r"unexpected \['extra'\]"),
    ("expected name, absurd size", craft_expected_bomb, r"declares 209715\d+ bytes"),
    ("truncated member", craft_truncated_member, r"'weight.npy' is truncated"),
    ("bytes after the numbers", craft_trailing_bytes, r"'weight.npy' (declares|has bytes after)"),
    ("CRC mismatch", craft_bad_crc, r"is not a weights file: Bad CRC-32"),
    ("header not a dict", craft_bad_header, r"is not a weights file"),
    (".npy version 3", craft_version_3, r"is not a weights file: .*version \(3, 0\)"),
    ("pickled objects", craft_pickled_object, r"is not a weights file: .*Python objects"),
    ("member not .npy", craft_not_npy_member, r"'weight' is not an .npy array"),
    ("duplicate member", craft_duplicate_member, r"appears twice"),
    ("same name with and without .npy", craft_name_twice, r"appears twice"),
    ("damaged deflate stream", craft_bad_deflate, r"is not a weights file"),
    ("complex numbers", craft_complex, r"does not fit this model: .*expects real numbers"),
    ("2-D for 1-D", craft_wrong_2d_shape, r"expects shape \(3,\), got \(3, 1\)"),
]


@pytest.mark.parametrize(("craft", "reason"), [c[1:] for c in CRAFTED], ids=[c[0] for c in CRAFTED])
def test_a_crafted_file_is_a_value_error_naming_path_and_reason(craft, reason, tmp_path):
    path = tmp_path / "crafted.npz"
    craft(path)
    neuron = nn.Neuron(3, seed=1)
    before = weights(neuron)
    with pytest.raises(ValueError, match=reason) as caught:
        neuron.load(path)
    message = str(caught.value)
    assert str(path) in message
    assert "allow_pickle" not in message
    assert weights(neuron) == before


def test_the_shape_2_to_the_40_file_is_small_and_refused_before_any_allocation(tmp_path):
    path = tmp_path / "crafted.npz"
    craft_huge_shape(path)
    assert path.stat().st_size < 600
    with pytest.raises(ValueError, match=r"expects shape \(3,\), got \(1099511627776,\)"):
        nn.Neuron(3).load(path)


def test_a_compressed_bomb_is_refused_without_inflating_it(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    craft_expected_bomb(path)
    assert path.stat().st_size < 1_000_000
    inflated = []
    real = zlib.decompressobj

    def counting_decompressobj(*args):
        inner = real(*args)

        class Counting:
            def decompress(self, data, max_length=0):
                out = inner.decompress(data, max_length)
                inflated.append(len(out))
                return out

            def __getattr__(self, name):
                return getattr(inner, name)

        return Counting()

    monkeypatch.setattr(zlib, "decompressobj", counting_decompressobj)
    with pytest.raises(ValueError, match="declares"):
        nn.Neuron(3).load(path)
    assert sum(inflated) < 1_000_000


def test_a_fortran_ordered_array_loads_in_the_right_order(tmp_path):
    layer = nn.Layer(3, 2, seed=0)
    weight = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    np.savez(tmp_path / "f.npz", weight=weight, bias=np.zeros(2))
    layer.load(tmp_path / "f.npz")
    assert layer.state_dict()["weight"].tolist() == weight.tolist()


def test_a_compressed_archive_of_numbers_loads(tmp_path):
    other = nn.MLP(2, [3, 2], seed=4)
    np.savez_compressed(tmp_path / "c.npz", **other.state_dict())
    model = nn.MLP(2, [3, 2], seed=1)
    model.load(tmp_path / "c.npz")
    assert weights(model) == weights(other)


def test_float32_and_integer_arrays_load_as_floats(tmp_path):
    np.savez(tmp_path / "w.npz", weight=np.array([1, 2], dtype=np.int32), bias=np.float32(0.5))
    neuron = nn.Neuron(2)
    neuron.load(tmp_path / "w.npz")
    assert weights(neuron) == [1.0, 2.0, 0.5]


# ------------------------------------------------- what a path names: type, size, links


def make_fifo(path):
    os.mkfifo(path)


def link_to_dev_zero(path):
    os.symlink("/dev/zero", path)


def link_to_dev_null(path):
    os.symlink("/dev/null", path)


def make_directory(path):
    path.mkdir()


def make_huge_sparse_file(path):
    """A 4 GB file of zeros that takes no disk (sparse): far beyond a Neuron(3)."""
    with open(path, "wb") as file:
        file.truncate(4 << 30)


NOT_WEIGHT_FILES = [
    ("FIFO", make_fifo, r"it is a FIFO \(named pipe\), not a regular file"),
    ("symlink to /dev/zero", link_to_dev_zero, "it is a character device, not a regular file"),
    ("symlink to /dev/null", link_to_dev_null, "it is a character device, not a regular file"),
    ("directory", make_directory, "it is a directory, not a regular file"),
    ("4 GB file", make_huge_sparse_file, r"it has 4294967296 bytes, more than an archive"),
]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX file types")
@pytest.mark.parametrize(
    ("make", "reason"), [c[1:] for c in NOT_WEIGHT_FILES], ids=[c[0] for c in NOT_WEIGHT_FILES]
)
def test_a_path_that_is_no_weights_file_is_refused_before_reading(make, reason, tmp_path):
    """load checks what the path names, and its size, before it reads a byte: a FIFO
    would block the read forever, /dev/zero would fill memory."""
    path = tmp_path / "weights.npz"
    make(path)
    neuron = nn.Neuron(3, seed=1)
    before = weights(neuron)
    outcome = []

    def load():
        try:
            neuron.load(path)
        except Exception as error:  # handed to the test's thread
            outcome.append(error)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=60)
    if worker.is_alive():  # blocked on the FIFO: unblock it, then fail
        with open(path, "wb"):
            pass
        worker.join()
        pytest.fail("load blocked reading the path")
    (error,) = outcome
    assert isinstance(error, ValueError)
    assert re.search(reason, str(error))
    assert str(path) in str(error)
    assert weights(neuron) == before


def test_the_size_bound_admits_every_archive_numpy_writes(tmp_path):
    """The largest files of a model's arrays: longdouble numbers, compressed or not."""
    layer = nn.Layer(40, 30, seed=0)
    state = {k: v.astype(np.longdouble) for k, v in layer.state_dict().items()}
    for save in (np.savez, np.savez_compressed):
        save(tmp_path / "w.npz", **state)
        fresh = nn.Layer(40, 30, seed=1)
        fresh.load(tmp_path / "w.npz")
        assert weights(fresh) == weights(layer)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks")
@pytest.mark.parametrize("relative", [False, True])
@pytest.mark.parametrize("target_exists", [True, False])
def test_save_through_a_symlink_writes_the_target_and_keeps_the_link(
    tmp_path, relative, target_exists
):
    """A link (possibly relative, possibly to a file not yet written, possibly through a
    second link) stays a link; the file it points to gets the weights, atomically, and
    no temporary file is left beside either."""
    store, here = tmp_path / "store", tmp_path / "here"
    store.mkdir()
    here.mkdir()
    target = store / "weights.npz"
    if target_exists:
        nn.Neuron(3, seed=0).save(target)
    hop = store / "latest.npz"
    os.symlink("weights.npz" if relative else target, hop)
    link = here / "model.npz"
    os.symlink(os.path.relpath(hop, here) if relative else hop, link)
    model = nn.Neuron(3, seed=5)
    model.save(link)
    assert link.is_symlink() and hop.is_symlink()
    assert not target.is_symlink()
    assert sorted(p.name for p in store.iterdir()) == ["latest.npz", "weights.npz"]
    assert [p.name for p in here.iterdir()] == ["model.npz"]
    for path in (target, link):
        fresh = nn.Neuron(3, seed=9)
        fresh.load(path)
        assert weights(fresh) == weights(model)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks")
def test_a_failed_save_through_a_symlink_keeps_the_target(tmp_path, monkeypatch):
    target, link = tmp_path / "target.npz", tmp_path / "link.npz"
    nn.Neuron(3, seed=0).save(target)
    before = target.read_bytes()
    os.symlink(target, link)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        nn.Neuron(3, seed=1).save(link)
    assert target.read_bytes() == before
    assert link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.npz", "target.npz"]


# ------------------------------------------------ large arrays, .npy 2.0, dtype first


def bit_pattern(numbers):
    return np.asarray(numbers, dtype=np.float64).view(np.uint64).tolist()


@pytest.mark.parametrize("compressed", [False, True])
def test_arrays_of_thousands_of_numbers_round_trip_bit_for_bit(tmp_path, compressed):
    """Layers of 2,600 and 4,100 weights: past any small buffer, numpy's summarised
    repr, or a single read of the member."""
    model = nn.MLP(64, [40, 100], seed=3)
    rng = np.random.default_rng(0)
    for p in model.parameters():
        p.data = float(rng.standard_normal() * 10.0 ** rng.integers(-300, 300))
    path = tmp_path / "big.npz"
    if compressed:
        np.savez_compressed(path, **model.state_dict())
    else:
        model.save(path)
    fresh = nn.MLP(64, [40, 100], seed=4)
    fresh.load(path)
    assert bit_pattern(weights(fresh)) == bit_pattern(weights(model))


def npy_2_0_bytes(array):
    buffer = io.BytesIO()
    npy.write_array(buffer, array, version=(2, 0))
    return buffer.getvalue()


def test_npy_format_2_0_members_load(tmp_path):
    """Format 2.0 (a 4-byte header length, which numpy writes for headers over 64 KiB)
    is read as 1.0 is, fortran order included."""
    layer = nn.Layer(30, 50, seed=0)
    state = layer.state_dict()
    members = {
        "weight.npy": npy_2_0_bytes(np.asfortranarray(state["weight"])),
        "bias.npy": npy_2_0_bytes(state["bias"]),
    }
    assert all(data[6:8] == b"\x02\x00" for data in members.values())
    write_archive(tmp_path / "v2.npz", members)
    fresh = nn.Layer(30, 50, seed=1)
    fresh.load(tmp_path / "v2.npz")
    assert bit_pattern(weights(fresh)) == bit_pattern(weights(layer))


@pytest.mark.parametrize("descr", ["<c16", "|b1", "<U8", "|S8", "<M8[s]", "|V8", "|O"])
@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_the_dtype_is_refused_before_any_number_is_read(descr, version, tmp_path, monkeypatch):
    """A member of the right name and shape but a dtype that is not real numbers is
    refused from its header: nothing past the headers is read (the member's 4 KiB
    of data, far more than its header, would show in the count)."""
    header = npy_header(descr, (3,), version=version)
    member = header + bytes(4096)
    write_archive(tmp_path / "w.npz", neuron_members(nn.Neuron(3), **{"weight.npy": member}))
    bytes_read = []
    real_read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = real_read(self, n)
        bytes_read.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    neuron = nn.Neuron(3, seed=1)
    before = weights(neuron)
    with pytest.raises(ValueError, match=r"expects real numbers|Python objects"):
        neuron.load(tmp_path / "w.npz")
    assert sum(bytes_read) <= 2 * len(header)  # headers only (bias's included)
    assert weights(neuron) == before
