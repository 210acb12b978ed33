"""The playground's server, driven as the page drives it, and as an attacker would.

Every endpoint, every kind of bad input (types, ranges, oversized and malformed bodies,
a foreign Host or Origin), concurrent requests, and a long run whose memory does not
grow. The page itself is tested in a browser (test_playground_browser.py).
"""

from __future__ import annotations

import base64
import gc
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import playground
import playground_server
import playground_session
import pytest
from playground_data import DATASETS, PLANE, make_points
from playground_server import MAX_BODY, PAGE_DIR, Playground, PlaygroundServer
from playground_session import BOUNDARY_GRID, GRID, Session, grid_points, layer_outputs
from playground_settings import MAX_STEPS, Settings, parse_settings

import nn
from minitorch_scalar import Value

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NUMPY_TRACE_DOMAIN = 389047  # numpy reports its array buffers to tracemalloc under this
SMALL = {"points": 60, "hidden": [3], "batch_size": 5, "seed": 3}  # quick to trace


@pytest.fixture(scope="module")
def server() -> Iterator[PlaygroundServer]:
    """A playground on a free port of 127.0.0.1, serving from a background thread."""
    with PlaygroundServer(0, Playground(parse_settings(SMALL))) as running:
        running.serve_in_background()
        yield running
        running.shutdown()


class Client:
    """Raw HTTP to the server: every header is the test's to choose."""

    def __init__(self, server: PlaygroundServer) -> None:
        self.port = server.port
        self.host = f"127.0.0.1:{server.port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        sent = {"Host": self.host}
        if body is not None:
            sent |= {"Content-Type": "application/json", "Content-Length": str(len(body))}
        sent |= headers or {}
        for name, value in sent.items():
            if value is not None:
                connection.putheader(name, value)
        connection.endheaders(body.encode() if isinstance(body, str) else body)
        response = connection.getresponse()
        answer = response.status, dict(response.getheaders()), response.read()
        connection.close()
        return answer

    def get(self, path: str, **headers: str) -> tuple[int, object]:
        status, _, body = self.request("GET", path, headers=_headers(headers))
        return status, json.loads(body)

    def post(self, path: str, payload: object, **headers: str) -> tuple[int, object]:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        status, _, body = self.request("POST", path, text, _headers(headers))
        return status, json.loads(body)


def _headers(given: dict[str, str]) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in given.items()}


@pytest.fixture
def client(server: PlaygroundServer) -> Iterator[Client]:
    """A client of a playground reset to SMALL before each test."""
    c = Client(server)
    status, _ = c.post("/api/reset", SMALL)
    assert status == 200
    yield c


def steps_now(client: Client) -> int:
    status, state = client.get("/api/state")
    assert status == 200
    return state["step"]


# ------------------------------------------------------------------ static files


@pytest.mark.parametrize(
    ("path", "name", "kind"),
    [
        ("/", "index.html", "text/html"),
        ("/index.html", "index.html", "text/html"),
        ("/app.js", "app.js", "text/javascript"),
        ("/style.css", "style.css", "text/css"),
        ("/app.js?v=2", "app.js", "text/javascript"),
    ],
)
def test_the_page_files_are_served_as_they_are(client: Client, path: str, name: str, kind: str):
    status, headers, body = client.request("GET", path)
    assert status == 200
    assert body == (PAGE_DIR / name).read_bytes()
    assert headers["Content-Type"].startswith(kind)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_the_page_fetches_nothing_from_outside():
    for name in ("index.html", "app.js", "style.css"):
        text = (PAGE_DIR / name).read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text
        assert "//cdn" not in text


@pytest.mark.parametrize(
    "path",
    [
        "/playground.py",
        "/../README.md",
        "/%2e%2e/README.md",
        "/playground/../playground_server.py",
        "/etc/passwd",
        "//etc/passwd",
        "/app.js/",
        "/api/nothing",
        "/index.html%00.js",
    ],
)
def test_no_other_file_is_served(client: Client, path: str):
    status, _, body = client.request("GET", path)
    assert status == 404
    assert json.loads(body)["error"].startswith("no such page")


# ----------------------------------------------------------- Host and Origin


@pytest.mark.parametrize(
    "host", ["evil.example", "127.0.0.1", "127.0.0.1:1", "localhost", "0.0.0.0:{port}", ""]
)
def test_a_foreign_host_is_refused(client: Client, host: str):
    status, _, body = client.request("GET", "/", headers={"Host": host.format(port=client.port)})
    assert status == 403
    assert "Host" in json.loads(body)["error"]


def test_a_request_without_host_is_refused(client: Client):
    with socket.create_connection(("127.0.0.1", client.port), timeout=30) as raw:
        raw.sendall(b"GET /api/state HTTP/1.0\r\n\r\n")
        answer = b"".join(iter(lambda: raw.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.0 403") or answer.startswith(b"HTTP/1.1 403")


def test_localhost_is_this_server_too(client: Client):
    status, _, _ = client.request("GET", "/api/state", headers={"Host": f"localhost:{client.port}"})
    assert status == 200


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "null", "https://127.0.0.1:{port}", "http://127.0.0.1:1", "file://"],
)
def test_a_foreign_origin_can_neither_read_nor_train(client: Client, origin: str):
    origin = origin.format(port=client.port)
    before = steps_now(client)
    status, answer = client.get("/api/state", Origin=origin)
    assert status == 403
    assert "Origin" in answer["error"]
    status, _ = client.post("/api/train", {"steps": 5}, Origin=origin)
    assert status == 403
    status, _ = client.post("/api/reset", {"points": 100}, Origin=origin)
    assert status == 403
    assert steps_now(client) == before


@pytest.mark.parametrize("origin", ["http://127.0.0.1:{port}", "http://localhost:{port}"])
def test_the_page_origin_is_served(client: Client, origin: str):
    status, _ = client.post("/api/train", {"steps": 1}, Origin=origin.format(port=client.port))
    assert status == 200


# ------------------------------------------------------------ request bodies


def test_an_oversized_body_is_refused_unread(client: Client):
    status, _, body = client.request(
        "POST", "/api/reset", "x", {"Content-Length": str(MAX_BODY + 1)}
    )
    assert status == 413
    assert "too large" in json.loads(body)["error"]


def test_a_body_at_the_limit_is_read(client: Client):
    payload = json.dumps({"seed": 3, "points": 60, "hidden": [3], "batch_size": 5})
    payload += " " * (MAX_BODY - len(payload))
    status, _, _ = client.request("POST", "/api/reset", payload)
    assert status == 200


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Length": None}, None, 411),
        ({"Content-Length": "-1"}, "{}", 400),
        ({"Content-Length": "ten"}, "{}", 400),
        ({"Transfer-Encoding": "chunked"}, "{}", 411),
        ({"Content-Type": "text/plain"}, "{}", 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, "{}", 415),
        ({}, "{not json", 400),
        ({}, "[" * 5000 + "]" * 5000, 400),
        ({}, b"\xff\xfe{}", 400),
    ],
)
def test_malformed_bodies_are_refused(client: Client, headers: dict, body, status: int):
    answer = client.request("POST", "/api/train", body, headers)
    assert answer[0] == status
    assert json.loads(answer[2])["error"]


def test_other_methods_are_not_served(client: Client):
    for method in ("PUT", "DELETE", "PATCH"):
        status, _, _ = client.request(method, "/api/state")
        assert status in (405, 501)


# ------------------------------------------------------------ /api/options


def test_options_state_the_bounds_the_server_checks(client: Client):
    status, options = client.get("/api/options")
    assert status == 200
    assert options["datasets"] == list(DATASETS)
    assert parse_settings(options["defaults"]) == Settings()
    low, high = options["points"]
    assert client.post("/api/reset", {**SMALL, "points": low})[0] == 200
    assert client.post("/api/reset", {**SMALL, "points": low - 1})[0] == 400
    assert client.post("/api/reset", {**SMALL, "points": high + 1})[0] == 400


# ---------------------------------------------------------- /api/reset, state


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_reset_makes_the_run_asked_for(client: Client, dataset: str):
    settings = {**SMALL, "dataset": dataset, "points": 80, "train_percent": 25, "hidden": [4, 2]}
    status, state = client.post("/api/reset", settings)
    assert status == 200
    assert state["settings"] == {**Settings().as_json(), **settings}
    assert state["step"] == 0
    assert len(state["points"]["train"]) == 20
    assert len(state["points"]["test"]) == 60
    xy, labels = make_points(dataset, 80, Settings.noise, SMALL["seed"])
    assert state["points"]["train"][0] == [round(xy[0, 0], 4), round(xy[0, 1], 4), labels[0]]
    assert [len(layer["biases"]) for layer in state["layers"]] == [4, 2, 1]
    assert [len(layer) for layer in state["maps"]["layers"]] == [4, 2, 1]
    assert len(base64.b64decode(state["maps"]["layers"][0][0])) == GRID * GRID
    assert len(base64.b64decode(state["maps"]["boundary"])) == BOUNDARY_GRID**2


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"dataset": "mnist"}, "dataset: expected one of moons"),
        ({"dataset": 3}, "dataset: expected one of"),
        ({"noise": "0.1"}, "noise: expected a number from 0 to 0.5, got '0.1'"),
        ({"noise": -0.1}, "noise: expected a number"),
        ({"noise": 0.6}, "noise: expected a number"),
        ({"noise": True}, "noise: expected a number"),
        ({"noise": None}, "noise: expected a number"),
        ({"points": 60.0}, "points: expected an integer from 20 to 500, got 60.0"),
        ({"points": 10**6}, "points: expected an integer from 20 to 500"),
        ({"points": 19}, "points: expected an integer"),
        ({"points": False}, "points: expected an integer"),
        ({"train_percent": 95}, "train_percent: expected an integer from 10 to 90"),
        ({"hidden": 4}, "hidden: expected a list of at most 4 layer widths"),
        ({"hidden": [2, 2, 2, 2, 2]}, "hidden: expected a list of at most 4"),
        ({"hidden": [9]}, "hidden[0]: expected an integer from 1 to 8, got 9"),
        ({"hidden": [3, 0]}, "hidden[1]: expected an integer from 1 to 8, got 0"),
        ({"hidden": ["a"]}, "hidden[0]: expected an integer"),
        ({"hidden": "4,4"}, "hidden: expected a list"),
        ({"activation": "gelu"}, "activation: expected one of tanh, relu, sigmoid, linear"),
        ({"loss": "nll"}, "loss: expected one of bce, hinge, mse"),
        ({"optimizer": "lbfgs"}, "optimizer: expected one of adam, sgd"),
        ({"learning_rate": 0}, "learning_rate: expected a number from 1e-05 to 10"),
        ({"learning_rate": 11}, "learning_rate: expected a number"),
        ({"batch_size": 0}, "batch_size: expected an integer from 1 to 500"),
        ({"batch_size": 43}, "batch_size: at most the number of training points (42), got 43"),
        ({"seed": -1}, "seed: expected an integer from 0 to 2147483647"),
        ({"seed": 2**31}, "seed: expected an integer"),
        ({"sneaky": 1}, "settings: unknown setting 'sneaky'"),
        ({"__class__": 1}, "settings: unknown setting '__class__'"),
    ],
)
def test_a_bad_setting_is_a_clear_error_and_changes_nothing(
    client: Client, settings: dict, message: str
):
    client.post("/api/train", {"steps": 2})
    status, answer = client.post("/api/reset", {**SMALL, **settings})
    assert status == 400
    assert answer["error"].startswith(message), answer["error"]
    assert "Traceback" not in answer["error"]
    status, state = client.get("/api/state")
    assert state["step"] == 2
    assert state["settings"] == {**Settings().as_json(), **SMALL}


@pytest.mark.parametrize("body", ["[]", '"moons"', "3", "null", '{"noise": NaN}'])
def test_settings_must_be_a_json_object_of_numbers(client: Client, body: str):
    status, answer = client.post("/api/reset", body)
    assert status == 400
    assert "expected" in answer["error"]


def test_a_long_value_is_cut_short_in_the_message(client: Client):
    status, answer = client.post("/api/reset", {"dataset": "m" * 5000})
    assert status == 400
    assert len(answer["error"]) < 200


# ----------------------------------------------------------------- /api/train


def test_train_runs_exactly_the_steps_asked_for(client: Client):
    for steps in (1, 7, MAX_STEPS):
        before = steps_now(client)
        status, state = client.post("/api/train", {"steps": steps})
        assert status == 200
        assert state["step"] == before + steps
        assert state["history"][-1]["step"] == state["step"]
        assert "points" not in state  # a training frame carries what changes only


@pytest.mark.parametrize(
    "payload",
    [
        {"steps": 0},
        {"steps": MAX_STEPS + 1},
        {"steps": "5"},
        {"steps": 5.0},
        {"steps": True},
        {},
        {"steps": 5, "lr": 1},
        [5],
    ],
)
def test_bad_train_requests_are_refused_and_train_nothing(client: Client, payload: object):
    before = steps_now(client)
    status, answer = client.post("/api/train", payload)
    assert status == 400
    assert "steps" in answer["error"] or "train request" in answer["error"]
    assert steps_now(client) == before


def test_moons_are_learned_and_the_loss_falls(client: Client):
    client.post("/api/reset", {})  # the defaults: moons, [6, 6], tanh, bce, adam
    for _ in range(8):
        state = client.post("/api/train", {"steps": 50})[1]
    first, last = state["history"][0], state["history"][-1]
    assert last["train_loss"] < 0.5 * first["train_loss"]
    assert last["test_accuracy"] >= 0.95
    assert [e["step"] for e in state["history"]] == [0, *range(50, 401, 50)]


def test_divergence_stops_the_run_with_a_message(client: Client):
    settings = {
        **SMALL,
        "optimizer": "sgd",
        "learning_rate": 10,
        "loss": "mse",
        "activation": "relu",
        "hidden": [8, 8, 8, 8],
    }
    client.post("/api/reset", settings)
    for _ in range(20):
        status, state = client.post("/api/train", {"steps": MAX_STEPS})
        assert status == 200
        if state["diverged"]:
            break
    assert re.match(
        r"(loss became (nan|inf|-inf)|training diverged) at step \d+", state["diverged"]
    )
    assert "smaller learning rate" in state["diverged"]
    step = state["step"]
    assert client.post("/api/train", {"steps": 5})[1]["step"] == step  # it stays stopped
    status, answer = client.post("/api/graph", {"neuron": "loss"})
    assert status == 400
    assert "Reset" in answer["error"]


def test_training_batches_are_fixed_size_and_cover_each_epoch():
    session = Session(parse_settings({**SMALL, "points": 50, "train_percent": 50}))
    seen = [session.next_batch() for _ in range(5)]  # 25 training points, batches of 5
    assert all(len(batch) == 5 for batch in seen)
    assert sorted(np.concatenate(seen).tolist()) == list(range(25))


# ------------------------------------------------------------- the maps


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
def test_the_neuron_maps_are_the_models_outputs(activation: str):
    session = Session(parse_settings({**SMALL, "hidden": [3, 2], "activation": activation}))
    session.train(10)
    points = grid_points(4)
    maps = layer_outputs(session.model.state_dict(), activation, points, 4)
    for k, (x, y) in enumerate(points):
        h: list = [Value(x), Value(y)]
        for layer, outputs in zip(session.model.layers, maps):
            out = layer(h)
            h = out if isinstance(out, list) else [out]
            for j, node in enumerate(h):
                assert math.isclose(outputs[j].flat[k], node.data, rel_tol=1e-12, abs_tol=1e-12)


def test_json_answers_have_no_nan():
    body, kind = playground_server._json({"loss": math.nan, "w": [[1.5, -math.inf]], "n": 2})
    assert json.loads(body) == {"loss": None, "w": [[1.5, None]], "n": 2}
    assert kind == "application/json"


def test_the_grid_is_the_cells_centres():
    points = grid_points(4)
    assert points[0].tolist() == [-PLANE + PLANE / 4, -PLANE + PLANE / 4]  # bottom left
    assert points[1, 0] > points[0, 0] and points[1, 1] == points[0, 1]  # along a row
    assert points[4, 1] > points[0, 1]  # the next row is higher


# ----------------------------------------------------------------- /api/graph


def test_the_graph_of_a_first_layer_neuron_is_its_formula(client: Client):
    client.post("/api/reset", {**SMALL, "hidden": [3], "activation": "tanh"})
    client.post("/api/train", {"steps": 20})
    status, state = client.get("/api/state")
    weights = state["layers"][0]["weights"][1]
    x1, x2, _ = state["points"]["test"][4]
    status, graph = client.post(
        "/api/graph", {"neuron": {"layer": 0, "index": 1}, "point": {"split": "test", "index": 4}}
    )
    assert status == 200
    nodes = {node["name"]: node for node in graph["nodes"]}
    assert set(nodes) == {
        "x1",
        "x2",
        "layers.0.weight[1, 0]",
        "layers.0.weight[1, 1]",
        "layers.0.bias[1]",
        "layers.0.z[1]",
        "layers.0.h[1]",
    }
    x = [nodes["x1"]["value"], nodes["x2"]["value"]]
    assert x == pytest.approx([x1, x2], abs=1e-4)  # the page's points are rounded
    out = math.tanh(weights[0] * x[0] + weights[1] * x[1] + state["layers"][0]["biases"][1])
    assert nodes["layers.0.h[1]"]["value"] == pytest.approx(out, rel=1e-12)
    slope = 1 - out**2  # d tanh(z) / dz
    assert nodes["layers.0.weight[1, 0]"]["grad"] == pytest.approx(slope * x[0], rel=1e-12)
    assert nodes["layers.0.weight[1, 1]"]["grad"] == pytest.approx(slope * x[1], rel=1e-12)
    assert nodes["layers.0.bias[1]"]["grad"] == pytest.approx(slope, rel=1e-12)
    assert nodes["x1"]["grad"] == pytest.approx(slope * weights[0], rel=1e-12)
    assert graph["nodes"][graph["root"]]["name"] == "layers.0.h[1]"


@pytest.mark.parametrize("loss", ["bce", "hinge", "mse"])
def test_the_loss_graph_steps_are_backward_edge_by_edge(client: Client, loss: str):
    client.post("/api/reset", {**SMALL, "hidden": [3, 2], "loss": loss})
    client.post("/api/train", {"steps": 10})
    status, graph = client.post(
        "/api/graph", {"neuron": "loss", "point": {"split": "train", "index": 7}}
    )
    assert status == 200
    nodes, steps = graph["nodes"], graph["steps"]
    assert nodes[graph["root"]]["name"] == "loss"
    assert len(steps) == sum(len(node["parents"]) for node in nodes)  # one step per edge
    grads = {graph["root"]: graph["seed"]}
    for step in steps:  # formula 6, replayed from the page's numbers
        node = nodes[step["node"]]
        assert step["parent"] in node["parents"]
        assert step["arriving"] == grads[step["node"]]  # the sender's gradient is final
        assert step["local"] in node["locals"]
        assert step["before"] == grads.get(step["parent"], 0.0)
        assert step["after"] == step["before"] + step["local"] * step["arriving"]
        assert "+=" in step["text"]
        grads[step["parent"]] = step["after"]
    for index, node in enumerate(nodes):
        assert grads.get(index, 0.0) == node["grad"]  # what backward leaves


def test_the_loss_graphs_gradients_are_the_central_differences(
    server: PlaygroundServer, client: Client
):
    client.post("/api/reset", {**SMALL, "hidden": [2], "activation": "sigmoid", "loss": "bce"})
    client.post("/api/train", {"steps": 5})
    status, graph = client.post(
        "/api/graph", {"neuron": "loss", "point": {"split": "train", "index": 2}}
    )
    assert status == 200
    session = server.playground.session
    point, label = session.train_xy[2], session.train_labels[2]
    model = nn.MLP(2, [2, 1], activation="sigmoid")
    model.load_state_dict(session.model.state_dict())
    parameters = dict(model.named_parameters())

    def loss() -> float:
        return nn.binary_cross_entropy_with_logits([model(point)], [float(label)]).data

    checked = 0
    for node in graph["nodes"]:
        if node["name"] in parameters:
            p, h = parameters[node["name"]], 1e-6
            p.data += h
            up = loss()
            p.data -= 2 * h
            down = loss()
            p.data += h
            assert node["grad"] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8)
            checked += 1
    assert checked == len(parameters)  # every weight and bias is in the loss's graph


def test_a_graph_request_leaves_the_trained_model_alone(server: PlaygroundServer, client: Client):
    client.post("/api/train", {"steps": 3})
    model = server.playground.session.model
    before = [(p.data, p.grad) for p in model.parameters()]
    assert client.post("/api/graph", {"neuron": "loss"})[0] == 200
    assert [(p.data, p.grad) for p in model.parameters()] == before


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"neuron": {"layer": 2, "index": 0}}, "neuron.layer: expected an integer from 0 to 1"),
        ({"neuron": {"layer": 0, "index": 3}}, "neuron.index: expected an integer from 0 to 2"),
        ({"neuron": {"layer": 1, "index": 1}}, "neuron.index: expected an integer from 0 to 0"),
        ({"neuron": {"layer": "0", "index": 0}}, "neuron.layer: expected an integer"),
        ({"neuron": {"index": 0}}, "neuron.layer: expected an integer"),
        ({"neuron": "output"}, "neuron: expected a JSON object"),
        ({"point": {"split": "all", "index": 0}}, "point.split: expected train or test"),
        ({"point": {"split": "train", "index": 42}}, "point.index: expected an integer from 0 to"),
        ({"point": {"split": "test", "index": -1}}, "point.index: expected an integer from 0 to"),
        ({"point": [0, 1]}, "point: expected a JSON object"),
        ({"neuron": "loss", "code": "import os"}, "graph request: unknown field 'code'"),
        ([], "graph request: expected a JSON object"),
    ],
)
def test_bad_graph_requests_are_clear_errors(client: Client, request_: object, message: str):
    status, answer = client.post("/api/graph", request_)
    assert status == 400
    assert answer["error"].startswith(message), answer["error"]


# --------------------------------------------------- concurrency and memory


def test_concurrent_requests_take_turns(client: Client):
    before = steps_now(client)
    errors: list[object] = []

    def work() -> None:
        for _ in range(5):
            for answer in (
                client.post("/api/train", {"steps": 2}),
                client.get("/api/state"),
                client.post("/api/graph", {"neuron": "loss"}),
            ):
                if answer[0] != 200:
                    errors.append(answer)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert steps_now(client) == before + 6 * 5 * 2  # no step lost, none run twice


def test_a_long_run_does_not_grow_in_memory(client: Client, monkeypatch):
    """With the history kept to 20 entries, it is thinned every 10 requests: between two
    requests 200 apart it has the same length, so anything more kept is a leak (a leak
    of 250 bytes a request would be 50 kB). The interpreter's and numpy's own caches
    fill during the first 200 requests; the second 200 are measured. Each snapshot is
    taken once the server's connection threads have ended."""
    monkeypatch.setattr(playground_session, "MAX_HISTORY", 20)
    idle = threading.active_count()
    tracemalloc.start()
    try:
        for _ in range(60):  # what was made before tracing has been thinned out by now
            client.post("/api/train", {"steps": 1})
        snapshots = []
        for _ in range(2):
            snapshots.append(_quiet_snapshot(idle))
            for _ in range(200):
                assert client.post("/api/train", {"steps": 1})[0] == 200
        snapshots.append(_quiet_snapshot(idle))
    finally:
        tracemalloc.stop()
    start, end = snapshots[1:]
    grown = sum(stat.size_diff for stat in end.compare_to(start, "filename"))
    assert grown < 50_000, end.compare_to(start, "lineno")[:5]


def _quiet_snapshot(idle_threads: int) -> tracemalloc.Snapshot:
    """A snapshot of what is allocated, taken when only `idle_threads` threads run."""
    for _ in range(600):
        if threading.active_count() <= idle_threads:
            break
        time.sleep(0.05)
    gc.collect()
    return tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(False, tracemalloc.__file__),
            # numpy keeps freed small array buffers for reuse (a bounded cache); the
            # arrays themselves are Python objects, still counted
            tracemalloc.DomainFilter(False, NUMPY_TRACE_DOMAIN),
        ]
    )


def test_the_history_is_bounded_and_keeps_both_ends(monkeypatch):
    monkeypatch.setattr(playground_session, "MAX_HISTORY", 20)
    session = Session(parse_settings(SMALL))
    for _ in range(95):
        session.train(1)
        assert len(session.history) <= 20
    steps = [entry["step"] for entry in session.history]
    assert steps[0] == 0 and steps[-1] == 95
    assert steps == sorted(steps)


# ---------------------------------------------------------------- the script


def script(*args: str, cwd: Path) -> subprocess.Popen:
    """`python examples/playground.py *args`, importing this checkout's packages, with no
    display (so no browser can open)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.Popen(
        [sys.executable, str(EXAMPLES / "playground.py"), *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(EXAMPLES.parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_help(tmp_path: Path):
    process = script("--help", cwd=tmp_path)
    stdout, _ = process.communicate(timeout=300)
    assert process.returncode == 0
    assert "--no-browser" in stdout and "--port" in stdout


def test_a_port_in_use_is_a_usage_error(tmp_path: Path, server: PlaygroundServer):
    process = script("--no-browser", "--port", str(server.port), cwd=tmp_path)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 2
    assert "usage:" in stderr and "in use" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "flags", [["--port", "-1"], ["--port", "70000"], ["--port", "http"], ["--host", "0.0.0.0"]]
)
def test_bad_flags_are_usage_errors(flags: list[str], capsys):
    with pytest.raises(SystemExit) as exit_:
        playground.parse_args(flags)
    assert exit_.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_the_script_serves_until_ctrl_c(tmp_path: Path):
    process = script("--port", "0", cwd=tmp_path)
    try:
        line = process.stdout.readline()
        assert line.startswith("playground: serving on http://127.0.0.1:")
        assert process.stdout.readline() == (
            "playground: no display here; open the address in a browser\n"
        )
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", "/api/state")
        assert connection.getresponse().status == 200
        connection.close()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode in (0, 130)
    assert "Traceback" not in stderr
