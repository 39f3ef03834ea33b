"""Module: registration, walking, modes, devices, state dicts, repr, containers, Parameter."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn
from tinygrad_digits.autograd.hooks import running_modules
from tinygrad_digits.nn.utils import functional_call


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.register_buffer("scale", tg.ones(4))
        self.register_buffer("cache", tg.zeros(2), persistent=False)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.act(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(4, 2)
        self.temperature = nn.Parameter(tg.tensor(1.5))
        self.note = "not registered"

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.head(self.block(x)) / self.temperature


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


# --- registration and walking ---------------------------------------------------------------
def test_named_parameters_use_dotted_paths_in_registration_order() -> None:
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "temperature",
        "block.fc.weight",
        "block.fc.bias",
        "head.weight",
        "head.bias",
    ]
    assert len(list(net.parameters())) == 5
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["temperature"]
    assert all(p.name is None for p in net.parameters())


def test_children_and_modules() -> None:
    net = Net()
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert list(net.children()) == [net.block, net.head]
    names = [n for n, _ in net.named_modules()]
    assert names == ["", "block", "block.fc", "block.act", "head"]
    assert list(net.modules())[0] is net
    assert net.get_submodule("block.fc") is net.block.fc
    assert net.get_parameter("block.fc.bias") is net.block.fc.bias
    with pytest.raises(AttributeError, match="no submodule 'nope'"):
        net.get_submodule("block.nope")


def test_shared_parameters_are_listed_once() -> None:
    a = nn.Linear(3, 3)
    model = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]


def test_reassigning_and_deleting_attributes() -> None:
    net = Net()
    net.head = nn.Linear(4, 3)
    assert net.get_parameter("head.weight").shape == (3, 4)
    assert [n for n, _ in net.named_children()] == ["block", "head"]  # position kept
    net.temperature = None
    assert "temperature" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match=r"nn\.Parameter"):
        net.temperature = tg.tensor(2.0)
    del net.head
    assert [n for n, _ in net.named_children()] == ["block"]
    net.block.scale = tg.full((4,), 2.0)
    assert host(dict(net.named_buffers())["block.scale"]).tolist() == [2.0] * 4


def test_forgetting_super_init_is_explained() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\)"):
        Broken()


def test_missing_forward_is_explained() -> None:
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(tg.ones(1))


def test_call_records_the_module_stack_and_node_scope() -> None:
    seen = []

    class Spy(nn.Module):
        def forward(self, x: tg.Tensor) -> tg.Tensor:
            seen.append(list(running_modules()))
            return x * 2

    spy = Spy()
    outer = nn.Sequential(spy)
    x = tg.ones(2, requires_grad=True)
    out = outer(x)
    assert seen == [[outer, spy]]
    assert running_modules() == ()
    assert out._ctx.scope is spy

    class Boom(nn.Module):
        def forward(self, x: tg.Tensor) -> tg.Tensor:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        nn.Sequential(Boom())(x)
    assert running_modules() == ()


# --- modes, grads, devices --------------------------------------------------------------------
def test_train_eval_apply_to_every_submodule() -> None:
    net = Net()
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_to_none_or_zeros() -> None:
    net = Net()
    net(tg.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not host(p.grad).any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_requires_grad_and_apply() -> None:
    net = Net()
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "Net" and "Linear" in visited


@pytest.mark.parametrize("to_host", [False, True])
def test_to_moves_in_place_keeping_parameter_objects(to_host: bool, accelerator: str) -> None:
    target = "cpu" if to_host else accelerator
    net = Net().to(accelerator if to_host else "cpu")
    net(tg.randn(2, 3, device=net.head.weight.device)).sum().backward()
    before = {n: (p, host(p)) for n, p in net.named_parameters()}
    assert net.to(target) is net
    for n, p in net.named_parameters():
        assert p is before[n][0]
        assert p.device == target and p.grad.device == target
        np.testing.assert_array_equal(host(p), before[n][1])
    assert all(b.device == target for b in net.buffers())
    out = net(tg.randn(2, 3, device=target))
    assert out.device == target


def test_to_reads_device_names_as_tensor_to_does() -> None:
    net = Net().to("STRICT")
    assert all(p.device == "strict" for p in net.parameters())
    net.to(" CPU ", tg.float64)
    assert all(p.device == "cpu" and p.dtype == tg.float64 for p in net.parameters())
    net.to(tg.zeros(1, device="strict"))
    assert all(p.device == "strict" and p.dtype == tg.float32 for p in net.parameters())


def test_to_dtype_converts_floating_parameters_and_buffers() -> None:
    net = Net().double()
    assert all(p.dtype == tg.float64 for p in net.parameters())
    assert net.block.scale.dtype == tg.float64
    net.to(tg.float32)
    assert all(p.dtype == tg.float32 for p in net.parameters())
    with pytest.raises(TypeError, match="floating-point"):
        net.to(tg.int64)


def test_deepcopy_is_independent(accelerator: str) -> None:
    net = Net().to(accelerator)
    twin = copy.deepcopy(net)
    assert twin.head.weight is not net.head.weight
    assert twin.head.weight.device is net.head.weight.device
    with tg.no_grad():
        twin.head.weight.fill_(0.0)
    assert host(net.head.weight).any()
    assert isinstance(twin.head.weight, nn.Parameter)


# --- state dicts ------------------------------------------------------------------------------
def test_state_dict_keys_values_and_sharing() -> None:
    net = Net()
    sd = net.state_dict()
    assert list(sd) == [
        "temperature",
        "block.scale",
        "block.fc.weight",
        "block.fc.bias",
        "head.weight",
        "head.bias",
    ]
    assert "block.cache" not in sd  # non-persistent buffer
    assert not any(v.requires_grad for v in sd.values())
    with tg.no_grad():
        net.head.bias.fill_(3.0)
    assert host(sd["head.bias"]).tolist() == [3.0, 3.0]  # shares memory, as torch


@pytest.mark.parametrize("src, dst", [("cpu", "acc"), ("acc", "cpu"), ("acc", "acc")])
def test_load_state_dict_round_trips_exactly_across_devices(
    src: str, dst: str, accelerator: str
) -> None:
    src, dst = (accelerator if d == "acc" else d for d in (src, dst))
    a = Net().to(src)
    tg.manual_seed(123)
    b = Net().to(dst)
    b.load_state_dict(a.state_dict())
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert na == nb and pb.device == dst
        np.testing.assert_array_equal(host(pa), host(pb))
    x = tg.randn(3, 3)
    np.testing.assert_array_equal(host(a(x.to(src))), host(b(x.to(dst))))


def test_load_state_dict_reports_every_problem_and_loads_nothing() -> None:
    net = Net()
    before = {k: host(v).copy() for k, v in net.state_dict().items()}
    sd = {k: v.clone() + 1 for k, v in Net().state_dict().items()}
    del sd["head.bias"]
    sd["head.extra"] = tg.zeros(1)
    sd["block.fc.weight"] = tg.zeros(5, 3)
    with pytest.raises(nn.StateDictError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    assert "missing keys" in msg and "'head.bias'" in msg
    assert "unexpected keys" in msg and "'head.extra'" in msg
    assert "'block.fc.weight': shape (5, 3) in the checkpoint, (4, 3) in the model" in msg
    assert "nothing was loaded" in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(host(v), before[k])


def test_load_state_dict_non_strict_and_numpy_values() -> None:
    net = Net()
    sd = {k: host(v) + 1 for k, v in Net().state_dict().items() if k != "temperature"}
    sd["unused"] = np.zeros(2)
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["temperature"] and result.unexpected_keys == ["unused"]
    np.testing.assert_array_equal(host(net.head.bias), sd["head.bias"])
    assert net.head.weight.dtype == tg.float32
    with pytest.raises(nn.StateDictError, match="shape"):
        net.load_state_dict({"head.bias": tg.zeros(7)}, strict=False)
    with pytest.raises(nn.StateDictError, match="expected a Tensor"):
        net.load_state_dict({**net.state_dict(), "head.bias": [1.0, 2.0]})
    with pytest.raises(TypeError, match="dict"):
        net.load_state_dict([1, 2])


def test_repr_shows_structure_and_parameter_counts() -> None:
    text = repr(nn.MLP(64, [32], 10, dropout=0.1))
    assert "(layers): ModuleList(" in text
    assert "(0): Linear(in_features=64, out_features=32, bias=True)  # 2,080 params" in text
    assert "(act): ReLU()" in text and "(drop): Dropout(p=0.1)" in text
    assert text.endswith(")  # 2,410 params")


# --- containers --------------------------------------------------------------------------------
def test_sequential_indexing_and_growth() -> None:
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b)
    assert len(seq) == 2 and seq[0] is a and seq[-1] is b and list(seq) == [a, b]
    seq.append(c)
    assert seq(tg.randn(4, 2)).shape == (4, 1)
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    seq[1] = nn.Tanh()
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear"]
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)
    named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.ReLU()))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]


def test_module_list_and_dict() -> None:
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    assert [n for n, _ in layers.named_parameters()][-1] == "2.bias"
    with pytest.raises(NotImplementedError, match="container"):
        layers(tg.ones(2))
    heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    heads["b"] = nn.Linear(2, 3)
    assert list(heads) == ["a", "b"] and "b" in heads
    assert [n for n, _ in heads.named_parameters()][-1] == "b.bias"


# --- Parameter and functional_call ----------------------------------------------------------------
def test_parameter_basics() -> None:
    p = nn.Parameter(tg.ones(2, 3))
    assert p.requires_grad and p.is_leaf and p.name is None
    assert type(p * 2) is tg.Tensor
    assert repr(p).startswith("Parameter containing:")
    frozen = nn.Parameter(tg.ones(2), requires_grad=False)
    assert not frozen.requires_grad


def test_functional_call_swaps_and_restores() -> None:
    lin = nn.Linear(2, 1)
    w = tg.ones(1, 2)
    b = tg.zeros(1)
    out = functional_call(lin, {"weight": w, "bias": b}, (tg.tensor([[1.0, 2.0]]),))
    assert host(out).tolist() == [[3.0]]
    assert isinstance(lin.weight, nn.Parameter)
    with pytest.raises(KeyError, match="no parameter or buffer 'nope'"):
        functional_call(lin, {"nope": w}, (tg.ones(1, 2),))
    assert isinstance(lin.weight, nn.Parameter)


@pytest.mark.parametrize("dtype", ["int32", "int64", "complex64"])
def test_integer_or_complex_weights_are_refused_for_float_parameters(dtype: str) -> None:
    model = nn.Linear(2, 2)
    before = model.weight.detach().numpy().copy()
    state = {"weight": np.ones((2, 2), dtype=dtype), "bias": np.zeros(2, np.float32)}
    with pytest.raises(nn.StateDictError, match=f"'weight': {dtype} values"):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)  # nothing loaded


def test_a_numpy_array_given_to_a_module_says_wrap_it():
    import tinygrad_digits as tg

    layer = tg.nn.Linear(3, 2)
    with pytest.raises(TypeError, match=r"wrap it with tg\.tensor\(x\)"):
        layer(np.zeros((4, 3)))


def test_forgotten_parentheses_on_parameters_are_named():
    import tinygrad_digits as tg

    model = tg.nn.Linear(3, 2)
    for make in (tg.optim.SGD, tg.optim.Adam):
        with pytest.raises(TypeError, match=r"model\.parameters\(\) with parentheses"):
            make(model.parameters, lr=0.1)
