"""Models written as in PyTorch: modules register what is assigned to them, and the tree
(children, modules, names, state_dict, train/eval, repr) follows."""

from collections import OrderedDict

import numpy as np
import pytest

import minitorch_scalar as ms
import nn
import nn.functional as F
import optim
from minitorch_scalar import Value


class Net(nn.Module):
    """The issue's model: micrograd's layers, assigned as PyTorch's are."""

    def __init__(self, seed=0):
        super().__init__()
        self.hidden = nn.Layer(2, 16, seed=seed)
        self.out = nn.Layer(16, 1, activation=None, seed=seed + 1)

    def forward(self, x):
        return self.out(self.hidden(x))


class TorchNet(nn.Module):
    """The same written with nn.Linear and F.*, and a scalar parameter of its own."""

    def __init__(self):
        super().__init__()
        self.scale = Value(1.5)
        self.fc1 = nn.Linear(2, 8, seed=0)
        self.fc2 = nn.Linear(8, 1, seed=1)

    def forward(self, x):
        return F.linear(F.tanh(self.fc1(x)), self.fc2.weight, self.fc2.bias)[0] * self.scale


MOONS_X = [[0.5, -1.0], [1.0, 0.25], [-0.5, 0.75], [2.0, 0.5]]
MOONS_Y = [1, -1, 1, -1]


def test_the_issues_model_registers_its_layers_trains_saves_and_loads(tmp_path):
    model = Net()
    assert model.parameters() == model.hidden.parameters() + model.out.parameters()
    assert {k: v.shape for k, v in model.state_dict().items()} == {
        "hidden.weight": (16, 2),
        "hidden.bias": (16,),
        "out.weight": (1, 16),
        "out.bias": (1,),
    }
    optimizer = optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        loss = nn.hinge_loss(model(MOONS_X), MOONS_Y)
        loss.backward()
        optimizer.step()
        losses.append(loss.data)
    assert losses[-1] < losses[0]
    model.save(tmp_path / "net.npz")
    fresh = Net(seed=5)
    assert fresh([0.5, -1.0]).data != model([0.5, -1.0]).data
    fresh.load(tmp_path / "net.npz")
    assert [p.data for p in fresh.parameters()] == [p.data for p in model.parameters()]
    assert fresh([0.5, -1.0]).data == model([0.5, -1.0]).data


def test_print_shows_the_tree_as_pytorch():
    model = nn.Sequential(OrderedDict(body=Net(), act=nn.Sigmoid()))
    assert repr(model) == (
        "Sequential(\n"
        "  (body): Net(\n"
        "    (hidden): Layer(2, 16, activation='relu')\n"
        "    (out): Layer(16, 1, activation=None)\n"
        "  )\n"
        "  (act): Sigmoid()\n"
        ")"
    )
    assert repr(nn.Linear(3, 2, bias=False)) == "Linear(in_features=3, out_features=2, bias=False)"


def test_parameters_and_children_come_in_assignment_order_own_values_first():
    model = TorchNet()
    assert [name for name, _ in model.named_children()] == ["fc1", "fc2"]
    assert model.children() == [model.fc1, model.fc2]
    expected = [model.scale, *model.fc1.parameters(), *model.fc2.parameters()]
    assert model.parameters() == expected
    assert list(model.state_dict()) == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == ["scale", "fc1.weight[0, 0]", "fc1.weight[0, 1]", "fc1.weight[1, 0]"]
    assert names[-1] == "fc2.bias[0]"


def test_named_modules_are_dotted_parents_first_and_each_once():
    shared = nn.Linear(2, 2, seed=0)
    inner = nn.Sequential(shared, nn.ReLU())
    model = nn.Sequential(inner, shared)
    assert [name for name, _ in model.named_modules()] == ["", "0", "0.0", "0.1"]
    assert model.modules() == [model, inner, shared, inner[1]]
    # A shared parameter: once in parameters(), under each of its names in state_dict.
    assert len(model.parameters()) == 6
    assert list(model.state_dict()) == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]


def test_reassigning_keeps_the_place_and_another_kind_moves_the_name():
    model = TorchNet()
    model.fc1 = nn.Linear(2, 8, seed=3)  # a child replaced: same place
    assert [name for name, _ in model.named_children()] == ["fc1", "fc2"]
    model.scale = Value(2.0)
    assert model.parameters()[0] is model.scale
    model.fc2 = Value(0.5)  # a child becomes a parameter
    assert [name for name, _ in model.named_children()] == ["fc1"]
    assert list(model.state_dict())[:3] == ["scale", "fc2", "fc1.weight"]  # own ones first
    del model.fc2
    assert "fc2" not in model.state_dict()


def test_what_is_not_a_parameter_is_a_plain_attribute():
    model = nn.Linear(2, 1, seed=0)
    model.last_output = model([1.0, 2.0])  # the result of an op: not a parameter
    model.note = "a string"
    assert len(model.parameters()) == 3
    model.bias = None  # a registered name keeps None: no bias, as PyTorch's
    assert list(model.state_dict()) == ["weight"]


@pytest.mark.parametrize(
    ("assign", "error", "message"),
    [
        (lambda m: setattr(m, "weight", 3.0), TypeError, r"Linear.weight expects a leaf Value"),
        (
            lambda m: setattr(m, "weight", [[Value(1.0)], [Value(1.0), Value(2.0)]]),
            ValueError,
            "rows of one shape",
        ),
        (
            lambda m: setattr(m, "weight", [[Value(1.0) + 1]]),
            TypeError,
            r"weight\[0\]\[0\] expects a leaf Value",
        ),
        (lambda m: m.register_parameter("a.b", Value(1.0)), ValueError, "Python identifier"),
        (lambda m: m.register_parameter(3, Value(1.0)), TypeError, "expects a str"),
        (lambda m: m.add_module("x", 3), TypeError, r"add_module\('x'\) expects a Module"),
    ],
)
def test_a_wrong_parameter_is_an_error_naming_it(assign, error, message):
    model = nn.Linear(2, 1, seed=0)
    before = model.state_dict()
    with pytest.raises(error, match=message):
        assign(model)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_a_child_takes_a_module_or_none():
    model = Net()
    with pytest.raises(TypeError, match=r"Net\.out is a child module"):
        model.out = [1.0]
    model.out = None
    assert model.children() == [model.hidden]


# --------------------------------------------- lists are not registered: said, not silent


class LayersInAList(nn.Module):
    def __init__(self, container):
        super().__init__()
        self.layers = container([nn.Linear(2, 3, seed=0), nn.Linear(3, 1, seed=1)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


@pytest.mark.parametrize("container", [list, tuple])
def test_layers_in_a_list_are_an_error_at_the_optimizer_saying_what_to_use(container):
    with pytest.raises(TypeError, match=r"LayersInAList.layers is a (list|tuple)") as info:
        optim.SGD(LayersInAList(container).parameters(), lr=0.1)
    message = str(info.value)
    assert "are not registered" in message and "nn.ModuleList" in message
    assert "register_parameter('layers', values)" in message


def test_some_layers_registered_and_some_in_a_list_is_an_error_too(tmp_path):
    class Half(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = nn.Linear(2, 3, seed=0)
            self.rest = {"out": nn.Linear(3, 1, seed=1)}

    for call in (Half().parameters, Half().state_dict, lambda: Half().save(tmp_path / "never.npz")):
        with pytest.raises(TypeError, match=r"Half\.rest is a dict"):
            call()
    assert not (tmp_path / "never.npz").exists()


def test_values_in_a_list_are_an_error_and_register_parameter_registers_them():
    class Weights(nn.Module):
        def __init__(self, register):
            super().__init__()
            w = [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]]
            if register:
                self.register_parameter("w", w)
            else:
                self.w = w

    with pytest.raises(TypeError, match=r"Weights\.w is a list"):
        Weights(register=False).parameters()
    model = Weights(register=True)
    assert [p.data for p in model.parameters()] == [1.0, 2.0, 3.0, 4.0]
    assert model.state_dict()["w"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    model.w = [[Value(0.0)] * 2] * 2  # a registered name takes new rows
    assert model.state_dict()["w"].shape == (2, 2)


def test_a_list_of_registered_modules_or_of_plain_numbers_is_fine():
    class Aliases(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 2, seed=0), nn.Linear(2, 1, seed=1)
            self.order = [self.a, self.b]  # the same modules, registered already
            self.history = [0.5, 0.25]
            self.outputs = [self.a([1.0, 1.0])]  # results of ops: not parameters

    assert len(Aliases().parameters()) == 9


def test_modulelist_registers_its_modules():
    model = LayersInAList(nn.ModuleList)
    assert list(model.state_dict()) == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
    ]
    assert model([1.0, 2.0]).data == model.layers[1](model.layers[0]([1.0, 2.0])).data
    layers = model.layers
    layers.append(nn.ReLU())
    layers[1] = nn.Linear(3, 2, seed=2)
    layers.extend([nn.Tanh()])
    assert len(layers) == 4 and isinstance(layers[-1], nn.Tanh)
    assert [type(m).__name__ for m in layers[1:3]] == ["Linear", "ReLU"]
    assert model.state_dict()["layers.1.weight"].shape == (2, 3)
    with pytest.raises(NotImplementedError, match="ModuleList defines neither forward"):
        layers([1.0])
    with pytest.raises(IndexError, match="index 4 is out of range for 4"):
        layers[4]


def test_a_micrograd_style_module_is_untouched_by_registration():
    class Line(nn.Module):  # no super().__init__(), parameters() by hand
        def __init__(self):
            self.w = Value(0.5)
            self.b = Value(-1.0)
            self.layers = [nn.Layer(1, 1, seed=0)]

        def __call__(self, x):
            return self.layers[0]([self.w * x + self.b])

        def parameters(self):
            return [self.w, self.b, *self.layers[0].parameters()]

    model = Line()
    assert list(model.state_dict()) == ["parameters"]
    assert model.state_dict()["parameters"].shape == (4,)
    assert model.named_children() == [] and model.training


# ------------------------------------------------------------------- train / eval


def test_train_and_eval_set_the_whole_tree_and_return_self():
    model = nn.Sequential(Net(), nn.Sequential(nn.ReLU()))
    assert model.eval() is model
    assert [m.training for m in model.modules()] == [False] * 6
    assert model.train() is model
    assert all(m.training for m in model.modules())
    with pytest.raises(TypeError, match=r"train\(mode\) expects True or False"):
        model.train(0)


def test_train_in_the_mode_it_is_in_changes_no_structure_and_a_switch_does():
    model = nn.Sequential(nn.Linear(2, 3, seed=0), nn.Tanh(), nn.Linear(3, 1, seed=1))
    step = ms.compile(lambda x: model(x))
    step([0.5, -1.0])
    before = ms.structure.version()
    model.train()  # already training: a compiled loop calling it every step stays fast
    assert ms.structure.version() == before
    model.eval()
    assert ms.structure.version() > before  # a switch is a change the guards look at
    assert step([0.5, -1.0]).data == model([0.5, -1.0]).data
    assert len(step.traces) == 1  # nothing here changes the graph: no retrace


def test_module_zero_grad_sets_zero_or_none():
    model = nn.Linear(2, 1, seed=0)
    model([1.0, 2.0]).backward()
    model.zero_grad()
    assert [p.grad for p in model.parameters()] == [0.0] * 3
    model.zero_grad(set_to_none=True)
    assert [p.grad for p in model.parameters()] == [None] * 3
    with pytest.raises(TypeError, match="set_to_none"):
        model.zero_grad(set_to_none=1)


# ---------------------------------------------------------------- Linear, Sequential


def test_linear_has_pytorchs_shapes_init_bounds_and_order():
    model = nn.Linear(4, 3, seed=0)
    weight, bias = model.state_dict()["weight"], model.state_dict()["bias"]
    assert weight.shape == (3, 4) and bias.shape == (3,)
    assert np.all(np.abs(weight) <= 0.5) and np.all(np.abs(bias) <= 0.5)  # 1/sqrt(4)
    assert model.parameters() == [w for row in model.weight for w in row] + model.bias
    assert [p.data for p in nn.Linear(4, 3, seed=0).parameters()] == [
        p.data for p in model.parameters()
    ]
    assert nn.Linear(4, 3, bias=False, seed=0).bias is None


def test_manual_seed_seeds_every_default_initialisation():
    def weights():
        return [p.data for p in nn.Linear(3, 2).parameters() + nn.MLP(2, [3, 1]).parameters()]

    ms.manual_seed(7)
    first = weights()
    ms.manual_seed(7)
    assert weights() == first
    ms.manual_seed(8)
    assert weights() != first
    with pytest.raises(TypeError, match=r"manual_seed\(seed\) expects an int"):
        ms.manual_seed(1.5)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: nn.Linear(0, 2), ValueError, r"Linear\(in_features\) expects a positive int"),
        (lambda: nn.Linear(2, 2.0), TypeError, r"Linear\(out_features\)"),
        (lambda: nn.Linear(2, 2, bias=1), TypeError, r"Linear\(bias\) expects True or False"),
        (lambda: nn.Linear(2, 2, seed="x"), TypeError, r"Linear\(seed\)"),
        (lambda: nn.Sequential(nn.ReLU(), F.relu), TypeError, "got function at index 1"),
        (lambda: nn.Linear(2, 3, seed=0)([1.0]), ValueError, "Linear expects 2 inputs, got 1"),
        (
            lambda: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1))([1.0, 2.0]),
            ValueError,
            r"module 1 \(Linear\) expects 4 inputs, got 3",
        ),
        (lambda: nn.Sequential()["0"], TypeError, "indices must be ints or slices"),
    ],
)
def test_bad_arguments_are_errors_naming_them(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_sequential_indexes_slices_iterates_and_runs_a_shared_module_twice():
    act = nn.Tanh()
    model = nn.Sequential(nn.Linear(2, 2, seed=0), act, nn.Linear(2, 2, seed=1), act)
    assert len(model) == 4 and list(model)[1] is list(model)[3] is act
    assert model[-1] is act and model[0] is next(iter(model))
    part = model[2:]
    assert [name for name, _ in part._child_items()] == ["2", "3"]
    assert list(part.state_dict()) == ["2.weight", "2.bias"]
    out = model([0.5, -0.5])
    assert [v.op for v in out] == ["tanh", "tanh"]
    assert out[0].parents[0].parents[-1].op == "tanh"  # the shared Tanh ran twice
    assert model.append(nn.Identity()) is model and len(model) == 5


def test_sequential_of_linear_and_relu_is_micrograds_mlp_node_for_node():
    mlp = nn.MLP(2, [16, 16, 1], seed=0)
    seq = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
    mlp_state, seq_state = mlp.state_dict(), seq.state_dict()
    assert [a.shape for a in mlp_state.values()] == [a.shape for a in seq_state.values()]
    seq.load_state_dict(dict(zip(seq_state, mlp_state.values())))  # the one line
    xs = np.random.default_rng(0).normal(size=(40, 2))
    outs, reference = seq(xs), mlp(xs)
    assert [v.data for v in outs] == [v.data for v in reference]
    for x in xs[:3]:
        assert seq(x).data == mlp(x).data
    nn.mse_loss(outs, [0.0] * 40).backward()
    nn.mse_loss(reference, [0.0] * 40).backward()
    assert gradients_by_array(seq) == gradients_by_array(mlp)


def gradients_by_array(model):
    """Each state_dict array's gradients, in state_dict order (names left out)."""
    return [[v.grad for v in group.values] for group in model.parameter_groups()]


def test_a_user_module_called_on_a_batch_sees_one_sample_at_a_time():
    model = TorchNet()
    xs = np.random.default_rng(1).normal(size=(5, 2))
    assert [v.data for v in model(xs)] == [model(x).data for x in xs]


def test_sequential_runs_user_modules_micrograd_modules_and_one_output_rows():
    class Scale(nn.Module):  # micrograd's style: __call__ and parameters(), no forward
        def __init__(self):
            self.k = Value(2.0)

        def __call__(self, x):
            return [self.k * xi for xi in x]

        def parameters(self):
            return [self.k]

    model = nn.Sequential(TorchNet(), nn.Sigmoid(), Scale(), nn.Linear(1, 2, seed=0))
    xs = np.random.default_rng(2).normal(size=(4, 2))
    per_sample = [model(x) for x in xs]
    assert [[v.data for v in out] for out in model(xs)] == [
        [v.data for v in out] for out in per_sample
    ]
    first = TorchNet()(xs[0])
    assert per_sample[0][0].data == model[3]([2.0 * first.sigmoid()])[0].data
    assert len(model.parameters()) == 1 + 8 * 2 + 8 + 9 + 1 + 4


def test_a_pytorch_style_step_compiles_to_the_eager_bits():
    model = nn.Sequential(nn.Linear(2, 8, seed=0), nn.ReLU(), nn.Linear(8, 1, seed=1))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = ms.compile(lambda x, y: F.binary_cross_entropy_with_logits(model(x), y), check=True)
    rng = np.random.default_rng(0)
    for _ in range(4):  # check=True compares every replay with the eager step
        x, y = rng.normal(size=(10, 2)), rng.integers(0, 2, size=10).astype(float)
        opt.zero_grad()
        step(x, y).backward()
        opt.step()
    assert len(step.traces) == 1


def test_loading_weights_of_another_shape_is_an_error_naming_the_key_and_changes_nothing(
    tmp_path,
):
    model = nn.Sequential(nn.Linear(2, 3, seed=0), nn.ReLU(), nn.Linear(3, 1, seed=1))
    other = nn.Sequential(nn.Linear(2, 4, seed=0), nn.ReLU(), nn.Linear(4, 1, seed=1))
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match=r"state_dict\['0.weight'\] expects shape \(3, 2\)"):
        model.load_state_dict(other.state_dict())
    other.save(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="does not fit this model"):
        model.load(tmp_path / "other.npz")
    with pytest.raises(TypeError, match="expects a mapping"):
        model.load_state_dict([("0.weight", np.zeros((3, 2)))])
    assert [p.data for p in model.parameters()] == before


@pytest.mark.parametrize("container", [nn.ModuleList, lambda ms_: nn.Sequential(*ms_)])
def test_insert_and_del_renumber_as_a_list(container):
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Linear(1, 1, seed=0)
    modules = container([a, b])
    modules.insert(1, c)
    assert list(modules) == [a, c, b]
    assert list(modules.state_dict()) == ["1.weight", "1.bias"]
    del modules[0]
    assert list(modules) == [c, b] and list(modules.state_dict()) == ["0.weight", "0.bias"]
    with pytest.raises(IndexError):
        del modules[2]
    with pytest.raises(TypeError, match="insert expects a Module"):
        modules.insert(0, F.relu)


def test_an_ops_result_is_never_a_parameter_even_without_parents():
    model = nn.Linear(2, 1, seed=0)
    with ms.no_grad():
        model.cached = model([1.0, 2.0])  # an op's result, no parents: plain
    step = ms.compile(lambda x: model(x))
    step([1.0, 2.0])
    model.replayed = step([1.0, 2.0])  # a replay's output: a node over the parameters
    with ms.no_grad():
        model.replayed_without_grad = step([1.0, 2.0])  # one with no parents at all
    assert model.replayed.op == "compiled" and model.replayed.parents
    assert model.replayed_without_grad.op == "compiled"
    assert not model.replayed_without_grad.parents
    assert len(model.parameters()) == 3
    model.register_parameter("scale", Value(2.0))
    with ms.no_grad(), pytest.raises(TypeError, match=r"detach\(\) is a leaf"):
        model.scale = model.scale * 0.5
    model.scale = (model.scale * 0.5).detach()
    assert model.parameters()[-1] is model.scale
