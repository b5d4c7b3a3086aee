"""numvars.store: stable config keys, atomic saves, bad files moved aside, a writable root."""

import os
import shutil
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from numvars.store import Store, StoreNotWritable, StoreWarning, canonical_json, config_hash
from numvars.tasks import Task
from numvars.training import TrainConfig


@dataclass(frozen=True)
class TinyCfg:
    name: str = "gru"
    d: int = 20
    lr: float = 0.001
    seeds: tuple = (0, 1)
    extra: dict | None = None


@dataclass(frozen=True)
class OtherCfg(TinyCfg):  # the same fields, another class name
    pass


@dataclass(frozen=True)
class Outer:
    model: TinyCfg = field(default_factory=TinyCfg)
    steps: int = 100


class NotAllowed:  # unpickling it needs more than weights_only=True
    pass


CFG = TinyCfg()
VALUES = torch.arange(1000, dtype=torch.float32)


def make_payload():
    g = torch.Generator().manual_seed(0)
    return {
        "state_dict": OrderedDict(w=torch.randn(3, 4, generator=g), b=torch.arange(4)),
        "history": {"loss": [0.5, float("nan")], "acc": torch.tensor([0.1, float("nan")])},
        "meta": {"n": 3, "ok": True, "none": None, "shape": (3, 4)},
        "half": torch.randn(5, generator=g).to(torch.float16),
        "values": VALUES,
    }


def assert_same(a, b):
    """Deep equality; tensors bitwise (so NaN equals NaN), containers by type and order."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.contiguous().view(torch.uint8).equal(b.contiguous().view(torch.uint8))
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b or (a != a and b != b)


def path_of(store, kind, cfg):
    return store.root / kind / f"{config_hash(cfg)}.pt"


# --------------------------------------------------------------------------- keys


def test_keys_are_pinned():
    # These are keys of files in existing stores: if this fails, every stored artifact is lost
    # (changed on purpose once, by the stop rule of issue 9).
    cfg = TrainConfig(task=Task("single"), arch="gru", max_epochs=400)
    assert canonical_json(cfg) == (
        '{"__dataclass__":"TrainConfig","fields":{"arch":"gru","batch_size":128,"checkpoint_every":5,'
        '"criterion":0.9999,"d":20,"lr":0.001,"lr_floor":1e-07,"max_epochs":400,"n_layers":2,'
        '"n_train":1000,"n_val":500,"positional":"rope","seed":0,"stop":"criterion","task":{"__dataclass__":"Task",'
        '"fields":{"hold_outs":[4,9,14,17],"kind":"single","max_count":20,"void_p":0.0}},'
        '"warmup_steps":100}}'
    )
    assert config_hash(cfg) == "ad316a9b9e6db105"
    tiny = TinyCfg(extra={"b": None, "a": True})
    assert canonical_json(tiny) == (
        '{"__dataclass__":"TinyCfg","fields":{"d":20,"extra":{"a":true,"b":null},'
        '"lr":0.001,"name":"gru","seeds":[0,1]}}'
    )
    assert config_hash(tiny) == "49acc23910d92f71"


def test_equal_configs_have_equal_keys():
    a = Outer(TinyCfg(lr=0.01, extra={"x": 1, "y": [1, 2]}), steps=7)
    b = Outer(model=TinyCfg(extra={"y": (1, 2), "x": 1}, lr=0.01), steps=7)  # rebuilt, reordered, tuple
    assert config_hash(a) == config_hash(b)
    assert len(config_hash(a)) == 16 and int(config_hash(a), 16) >= 0


@pytest.mark.parametrize(
    "a, b",
    [
        (1, 1.0),
        (1, "1"),
        (1, True),
        (1.0, True),
        (0, None),
        (0.0, -0.0),
        (0.1, 0.1000001),
        (float("nan"), "nan"),
        (float("inf"), float("-inf")),
        ([1, 2], [2, 1]),
        ({}, []),
        (TinyCfg(), OtherCfg()),  # the class name counts
        (Outer(), Outer(TinyCfg(name="lstm"))),  # a nested field counts
    ],
)
def test_different_configs_have_different_keys(a, b):
    assert config_hash({"x": a}) != config_hash({"x": b})


@pytest.mark.parametrize(
    "cfg, where, what",
    [
        ({"fn": len}, "cfg['fn']", "builtin_function_or_method"),
        (Outer(TinyCfg(extra={"w": torch.zeros(2)})), "cfg.model.extra['w']", "torch.Tensor"),
        ({"s": {1, 2}}, "cfg['s']", "set"),
        ({"v": [1, np.float64(0.5)]}, "cfg['v'][1]", "numpy.float64"),
        ({1: "x"}, "cfg", "key 1"),
        ({"__float__": "nan"}, "cfg", "'__float__'"),  # reserved: the encoding stays one-to-one
        (TinyCfg, "cfg", "type"),  # the class, not an instance
    ],
)
def test_unsupported_config_is_a_type_error_naming_the_field(cfg, where, what):
    with pytest.raises(TypeError) as info:
        config_hash(cfg)
    assert where in str(info.value) and what in str(info.value)


# --------------------------------------------------------------------------- save / load


def test_round_trip_is_bitwise(tmp_path):
    store = Store(tmp_path / "new" / "root")  # created on demand
    payload = make_payload()
    path = store.save("model", CFG, payload)
    assert path == tmp_path / "new" / "root" / "model" / f"{config_hash(CFG)}.pt"
    assert_same(store.load("model", CFG), payload)
    assert torch.load(path, weights_only=True)["header"] == {
        "format": "numvars.store",
        "version": 1,
        "kind": "model",
        "key": config_hash(CFG),
        "config": canonical_json(CFG),
    }


def test_absent_is_none_silently_and_creates_nothing(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Store(tmp_path).load("model", CFG) is None
    assert list(tmp_path.iterdir()) == []


def test_kinds_are_separate(tmp_path):
    store = Store(tmp_path)
    store.save("model", CFG, {"v": 1})
    store.save("das", CFG, {"v": 2})
    assert store.load("model", CFG) == {"v": 1} and store.load("das", CFG) == {"v": 2}


def test_save_replaces_and_leaves_no_temp_file(tmp_path):
    store = Store(tmp_path)
    store.save("model", CFG, {"v": torch.ones(3)})
    path = store.save("model", CFG, {"v": torch.zeros(3)})
    assert os.listdir(path.parent) == [path.name]
    assert store.load("model", CFG)["v"].equal(torch.zeros(3))


def test_failed_save_keeps_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    store = Store(tmp_path)
    path = store.save("model", CFG, {"v": torch.ones(3)})

    def crash_midway(obj, f):
        f.write(b"PK\x03\x04 half a file")
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(RuntimeError, match="disk full"):
        store.save("model", CFG, {"v": torch.zeros(3)})
    monkeypatch.undo()
    assert os.listdir(path.parent) == [path.name]
    assert store.load("model", CFG)["v"].equal(torch.ones(3))


@pytest.mark.parametrize("kind", ["", "a/b", "..", "mo del", "model.v2", "x" * 65, "ü", None])
def test_bad_kind_is_a_value_error(tmp_path, kind):
    with pytest.raises(ValueError, match="letters, digits"):
        Store(tmp_path).save(kind, CFG, {"v": 1})
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- bad files


def _edit(path, change):
    raw = torch.load(path, weights_only=True)
    change(raw)
    torch.save(raw, path)


def _flip_a_tensor_byte(path):  # torch.load alone would return wrong numbers
    data = bytearray(path.read_bytes())
    data[data.find(VALUES.numpy().tobytes()[400:432])] ^= 0xFF
    path.write_bytes(bytes(data))


BAD_FILES = {
    "truncated": (lambda s, p: p.write_bytes(p.read_bytes()[:1000]), "truncated or garbage"),
    "garbage": (lambda s, p: p.write_bytes(b"not a torch file\x00\xff" * 10), "truncated or garbage"),
    "empty": (lambda s, p: p.write_bytes(b""), "truncated or garbage"),
    "flipped byte": (lambda s, p: _flip_a_tensor_byte(p), "CRC mismatch"),
    "unsafe": (lambda s, p: _edit(p, lambda raw: raw["payload"].update(evil=NotAllowed())), "weights_only"),
    "header-less": (lambda s, p: torch.save({"v": 1}, p), "no header"),
    "a tensor": (lambda s, p: torch.save(torch.ones(3), p), "no header"),
    "no payload": (lambda s, p: _edit(p, lambda raw: raw.pop("payload")), "no payload"),
    "other config": (lambda s, p: shutil.copyfile(s.save("model", TinyCfg(d=99), {"v": 0}), p), "recorded key"),
    "other kind": (lambda s, p: shutil.copyfile(s.save("das", CFG, {"v": 0}), p), "recorded kind"),
    "same key, other config": (lambda s, p: _edit(p, lambda raw: raw["header"].update(config="{}")), "recorded config"),
    "older version": (lambda s, p: _edit(p, lambda raw: raw["header"].update(version=0)), "version 0"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_is_moved_aside_and_rebuilt(tmp_path, name):
    spoil, match = BAD_FILES[name]
    store = Store(tmp_path)
    path = store.save("model", CFG, make_payload())
    spoil(store, path)
    before = path.read_bytes()
    with pytest.warns(StoreWarning, match=match) as record:
        assert store.load("model", CFG) is None
    assert len(record) == 1 and str(path) in str(record[0].message)
    assert not path.exists() and path.with_name(path.name + ".bad").read_bytes() == before  # kept
    store.save("model", CFG, make_payload())  # the caller rebuilds
    assert_same(store.load("model", CFG), make_payload())


def test_repeated_bad_files_never_overwrite_earlier_ones(tmp_path):
    store = Store(tmp_path)
    path = path_of(store, "model", CFG)
    path.parent.mkdir()
    for i in range(3):
        path.write_bytes(f"garbage {i}".encode())
        with pytest.warns(StoreWarning):
            assert store.load("model", CFG) is None
    assert sorted(os.listdir(path.parent)) == [f"{path.name}.bad", f"{path.name}.bad.1", f"{path.name}.bad.2"]
    for i, suffix in enumerate([".bad", ".bad.1", ".bad.2"]):
        assert path.with_name(path.name + suffix).read_bytes() == f"garbage {i}".encode()


def test_unreadable_file_is_an_error_not_a_bad_file(tmp_path):
    store = Store(tmp_path)
    path = path_of(store, "model", CFG)
    path.mkdir(parents=True)  # a folder where the file should be: an I/O error for every user
    with pytest.raises(OSError):
        store.load("model", CFG)
    if os.geteuid() == 0:
        pytest.skip("root can read a file with mode 000")
    path.rmdir()
    store.save("model", CFG, {"v": 1}).chmod(0)
    try:
        with pytest.raises(PermissionError):
            store.load("model", CFG)
        assert os.listdir(path.parent) == [path.name]  # left alone, not moved aside
    finally:
        path.chmod(0o644)


def test_exists_is_cheap_unless_verified(tmp_path):
    store = Store(tmp_path)
    assert not store.exists("model", CFG)
    path = store.save("model", CFG, {"v": 1})
    assert store.exists("model", CFG) and store.exists("model", CFG, verify=True)
    assert not store.exists("das", CFG) and not store.exists("model", TinyCfg(d=1))
    path.write_bytes(b"junk")
    assert store.exists("model", CFG)  # only looks for the file
    with pytest.warns(StoreWarning):
        assert not store.exists("model", CFG, verify=True)
    assert not store.exists("model", CFG)  # the verifying load moved it aside


# --------------------------------------------------------------------------- the root


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMVARS_STORE", str(tmp_path / "elsewhere"))
    assert Store.default().root == tmp_path / "elsewhere"
    monkeypatch.setenv("NUMVARS_STORE", "")  # empty counts as unset
    root = Store.default().root
    assert root.name == "store" and (root.parent / "src" / "numvars" / "store.py").is_file()
    monkeypatch.delenv("NUMVARS_STORE")
    assert Store.default().root == root
    assert repr(Store(tmp_path)) == f"Store({str(tmp_path)!r})"


def test_check_writable(tmp_path):
    Store(tmp_path / "new" / "root").check_writable()  # creates the root, leaves no probe
    assert list((tmp_path / "new" / "root").iterdir()) == []
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for root in (a_file, a_file / "root"):  # fails for every user, root included
        with pytest.raises(StoreNotWritable, match="every worker can write") as info:
            Store(root).check_writable()
        assert str(root) in str(info.value) and isinstance(info.value, OSError)


def test_check_writable_under_a_read_only_folder(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write into a read-only folder")
    (tmp_path / "ro").mkdir(mode=0o555)
    try:
        with pytest.raises(StoreNotWritable, match="ro/store"):
            Store(tmp_path / "ro" / "store").check_writable()
    finally:
        (tmp_path / "ro").chmod(0o755)
