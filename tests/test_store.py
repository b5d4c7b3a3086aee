"""numvars.store: config hashing, atomic saves, and refusing corrupt, partial or foreign files."""

import enum
import os
import shutil
import subprocess
import sys
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

import numvars.store as store_mod
from numvars.store import Store, StoreWarning, canonical_json, config_hash


@dataclass(frozen=True)
class TinyCfg:
    name: str = "gru"
    d: int = 20
    lr: float = 0.001
    seeds: tuple = (0, 1)
    extra: dict | None = None


@dataclass(frozen=True)
class OtherCfg(TinyCfg):  # same fields as TinyCfg, another class name
    pass


@dataclass(frozen=True)
class Outer:
    model: TinyCfg = field(default_factory=TinyCfg)
    steps: int = 100


class Color(enum.Enum):
    RED = 1


def make_payload():
    g = torch.Generator().manual_seed(0)
    return {
        "state_dict": OrderedDict(w=torch.randn(3, 4, generator=g), b=torch.arange(4)),
        "history": {"loss": [0.5, 0.25, float("nan")], "acc": torch.tensor([0.1, 0.9])},
        "meta": {"n": 3, "name": "gru", "ok": True, "none": None, "shape": (3, 4)},
        "half": torch.randn(5, generator=g).to(torch.float16),
    }


def assert_same(a, b):
    """Deep equality; tensors bitwise (dtype, shape and bytes), NaN equal to NaN."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape
        as_bytes = lambda t: t.contiguous().reshape(-1).view(torch.uint8)  # noqa: E731
        assert torch.equal(as_bytes(a), as_bytes(b))  # bitwise, so NaN payloads compare too
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


def only_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --------------------------------------------------------------------------- config_hash


def test_config_hash_is_pinned():
    # If this fails, the canonical form changed and every stored artifact key with it:
    # bump store.FORMAT_VERSION deliberately and update these values, never by accident.
    cfg = TinyCfg(extra={"b": None, "a": True})
    assert canonical_json(cfg) == (
        '{"__dataclass__":"TinyCfg","fields":{"d":20,"extra":{"a":true,"b":null},'
        '"lr":0.001,"name":"gru","seeds":[0,1]}}'
    )
    assert config_hash(cfg) == "49acc23910d92f71"


def test_config_hash_equal_for_equal_configs():
    a = Outer(TinyCfg(lr=0.01, extra={"x": 1, "y": [1, 2]}), steps=7)
    b = Outer(model=TinyCfg(extra={"y": [1, 2], "x": 1}, lr=0.01), steps=7)  # rebuilt, keys reordered
    assert a is not b and config_hash(a) == config_hash(b)
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
    assert config_hash(OrderedDict(a=1, b=2)) == config_hash(OrderedDict(b=2, a=1))
    h = config_hash(a)
    assert len(h) == 16 and int(h, 16) >= 0


def test_config_hash_stable_across_processes():
    # A hash()-based key would change with PYTHONHASHSEED; ours must not.
    script = (
        "from dataclasses import dataclass\n"
        "from numvars.store import config_hash\n"
        "@dataclass(frozen=True)\n"
        "class TinyCfg:\n"
        "    name: str = 'gru'\n    d: int = 20\n    lr: float = 0.001\n"
        "    seeds: tuple = (0, 1)\n    extra: dict | None = None\n"
        "print(config_hash(TinyCfg(extra={'k': 'v', 'j': 2.5})), config_hash({'s': 'abc', 't': 1}))\n"
    )
    expected = f"{config_hash(TinyCfg(extra={'j': 2.5, 'k': 'v'}))} {config_hash({'t': 1, 's': 'abc'})}"
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected


@pytest.mark.parametrize(
    "a, b",
    [
        (TinyCfg(), TinyCfg(d=21)),
        (TinyCfg(), TinyCfg(lr=0.0010000001)),
        (TinyCfg(), OtherCfg()),  # the class name counts
        (Outer(), Outer(model=TinyCfg(name="lstm"))),  # a nested field counts
        ({"x": 1}, {"x": 1.0}),
        ({"x": 1}, {"x": "1"}),
        ({"x": 1}, {"x": True}),
        ({"x": 1.0}, {"x": True}),
        ({"x": 0}, {"x": False}),
        ({"x": 0}, {"x": None}),
        ({"x": 0.0}, {"x": -0.0}),
        ({"x": 0.1}, {"x": 0.1000001}),
        ({"x": [1, 2]}, {"x": [2, 1]}),
        ({"x": "nan"}, {"x": float("nan")}),
        ({"x": {}}, {"x": []}),
        ({"x": {}}, {}),
        (1, 1.0),
        (1, True),
    ],
)
def test_config_hash_differs(a, b):
    assert config_hash(a) != config_hash(b)


def test_config_hash_documented_conversions():
    # Documented: tuple and list are both JSON arrays; numpy scalars are the equal Python
    # scalar; enums are "Class.NAME"; paths their POSIX string.
    assert config_hash({"s": (0, 1)}) == config_hash({"s": [0, 1]})
    assert config_hash({"v": np.float64(0.1), "n": np.int64(3), "f": np.bool_(True)}) == config_hash(
        {"v": 0.1, "n": 3, "f": True}
    )
    assert config_hash({"v": np.float32(0.1)}) == config_hash({"v": float(np.float32(0.1))})
    assert config_hash({"v": np.float32(0.1)}) != config_hash({"v": 0.1})
    assert canonical_json({"c": Color.RED, "p": Path("a") / "b.txt"}) == '{"c":"Color.RED","p":"a/b.txt"}'
    assert canonical_json(float("inf")) != canonical_json(float("-inf"))


@pytest.mark.parametrize(
    "cfg, where, what",
    [
        ({"fn": len}, "cfg['fn']", "builtin_function_or_method"),
        (Outer(model=TinyCfg(extra={"w": torch.zeros(2)})), "cfg.model.extra['w']", "torch.Tensor"),
        ({"a": [1, np.zeros(3)]}, "cfg['a'][1]", "numpy.ndarray"),
        ({"s": {1, 2}}, "cfg['s']", "set"),
        ({1: "x"}, "1", "int"),
        ({"__float__": "nan"}, "__float__", "reserved"),
        (TinyCfg, "cfg", "type"),  # the class itself, not an instance
    ],
)
def test_config_hash_rejects_what_it_cannot_canonicalise(cfg, where, what):
    with pytest.raises(TypeError) as info:
        config_hash(cfg)
    assert where in str(info.value) and what in str(info.value)


def test_config_that_contains_itself_is_a_type_error():
    loop = [1]
    loop.append(loop)
    with pytest.raises(TypeError, match="contains itself"):
        config_hash(loop)
    shared = [1, 2]  # the same object twice is fine: it is still a tree of values
    assert config_hash({"a": shared, "b": shared}) == config_hash({"a": [1, 2], "b": [1, 2]})


# --------------------------------------------------------------------------- save / load


def test_round_trip_is_bitwise(tmp_path):
    store = Store(tmp_path / "new" / "root")  # root created on demand
    cfg = Outer(TinyCfg(extra={"a": 1}))
    payload = make_payload()
    path = store.save("model", cfg, payload)
    assert path == tmp_path / "new" / "root" / "model" / f"{config_hash(cfg)}.pt"
    assert path == store.path("model", cfg) and path.is_file()
    loaded = store.load("model", cfg)
    assert_same(loaded, payload)
    assert loaded["state_dict"]["w"] is not payload["state_dict"]["w"]  # really read back
    # the file is a plain weights_only-loadable torch file with a header describing it
    raw = torch.load(path, weights_only=True)
    assert raw["header"] == {
        "format": "numvars.store",
        "version": store_mod.FORMAT_VERSION,
        "kind": "model",
        "key": config_hash(cfg),
        "config": canonical_json(cfg),
    }


def test_load_of_absent_artifact_is_none_and_silent(tmp_path):
    store = Store(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.load("model", TinyCfg()) is None
    assert not store.exists("model", TinyCfg())
    assert not tmp_path.joinpath("model").exists()  # reading creates nothing


def test_kinds_are_separate(tmp_path):
    store = Store(tmp_path)
    store.save("model", TinyCfg(), {"v": 1})
    store.save("das", TinyCfg(), {"v": 2})
    assert store.load("model", TinyCfg()) == {"v": 1}
    assert store.load("das", TinyCfg()) == {"v": 2}


def test_save_replaces_and_leaves_no_temp_files(tmp_path):
    store = Store(tmp_path)
    cfg = TinyCfg()
    store.save("model", cfg, {"v": torch.ones(3)})
    store.save("model", cfg, {"v": torch.zeros(3)})
    assert only_files(tmp_path / "model") == [f"{config_hash(cfg)}.pt"]
    assert torch.equal(store.load("model", cfg)["v"], torch.zeros(3))


def test_failed_save_keeps_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    store = Store(tmp_path)
    cfg = TinyCfg()
    store.save("model", cfg, {"v": torch.ones(3)})

    def crash_midway(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a file")
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_mod.torch, "save", crash_midway)
    with pytest.raises(RuntimeError, match="disk full"):
        store.save("model", cfg, {"v": torch.zeros(3)})
    monkeypatch.undo()
    assert only_files(tmp_path / "model") == [f"{config_hash(cfg)}.pt"]
    assert torch.equal(store.load("model", cfg)["v"], torch.ones(3))  # the old one, intact


@pytest.mark.parametrize(
    "payload, where",
    [
        ({"x": np.float64(1.0)}, "payload['x']"),
        ({"a": [1, {"b": lambda: 0}]}, "payload['a'][1]['b']"),
        ({"s": {1, 2}}, "payload['s']"),
        ({TinyCfg(): 1}, "key"),
        ({"c": TinyCfg()}, "payload['c']"),
        ([torch.ones(2)], "payload must be a dict"),
        (None, "payload must be a dict"),
    ],
)
def test_save_rejects_payloads_weights_only_cannot_load(tmp_path, payload, where):
    store = Store(tmp_path)
    with pytest.raises(TypeError) as info:
        store.save("model", TinyCfg(), payload)
    assert where in str(info.value)
    assert not (tmp_path / "model").exists() or only_files(tmp_path / "model") == []


@pytest.mark.parametrize("kind", ["", "a/b", "..", ".", "a\\b", "mo del", "model.v2", "x" * 65, "ü"])
def test_bad_kind_is_a_value_error(tmp_path, kind):
    store = Store(tmp_path)
    for call in (
        lambda: store.path(kind, TinyCfg()),
        lambda: store.save(kind, TinyCfg(), {"v": 1}),
        lambda: store.load(kind, TinyCfg()),
        lambda: store.exists(kind, TinyCfg()),
    ):
        with pytest.raises(ValueError, match="letters, digits"):
            call()
    assert list(tmp_path.iterdir()) == []


def test_good_kinds_are_accepted(tmp_path):
    store = Store(tmp_path)
    for kind in ("model", "das", "DAS_v2-rot", "x" * 64):
        store.save(kind, {"k": 1}, {"v": kind})
        assert store.load(kind, {"k": 1}) == {"v": kind}


def test_non_str_kind_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="kind must be a str"):
        Store(tmp_path).path(Path("model"), TinyCfg())


def test_unhashable_config_is_a_type_error_in_store_calls(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(TypeError, match=r"cfg\['f'\]"):
        store.save("model", {"f": print}, {"v": 1})
    with pytest.raises(TypeError, match=r"cfg\['f'\]"):
        store.load("model", {"f": print})
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- bad files


def _load_expecting_bad(store, kind, cfg, match):
    path = store.path(kind, cfg)
    before = path.read_bytes()
    with pytest.warns(StoreWarning, match=match) as record:
        assert store.load(kind, cfg) is None
    assert len(record) == 1 and path.name in str(record[0].message)
    assert not path.exists()
    bad = path.with_name(path.name + ".bad")
    assert bad.read_bytes() == before  # moved aside intact, not deleted
    return bad


def test_truncated_file_is_moved_aside_and_rebuilt(tmp_path):
    store = Store(tmp_path)
    cfg = TinyCfg()
    path = store.save("model", cfg, make_payload())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert store.exists("model", cfg)  # documented: the cheap check only sees a file
    _load_expecting_bad(store, "model", cfg, "not a readable torch file")

    calls = []
    rebuilt = store.get_or_create("model", cfg, lambda: calls.append(1) or make_payload())
    assert calls == [1]
    assert_same(rebuilt, make_payload())
    assert_same(store.load("model", cfg), make_payload())  # the new file loads
    assert sorted(only_files(tmp_path / "model")) == [path.name, path.name + ".bad"]


def test_garbage_file_is_moved_aside_and_rebuilt(tmp_path):
    store = Store(tmp_path)
    cfg = TinyCfg()
    path = store.path("model", cfg)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a torch file\x00\xff" * 10)
    _load_expecting_bad(store, "model", cfg, "not a readable torch file")
    assert store.get_or_create("model", cfg, lambda: {"v": 7}) == {"v": 7}
    assert store.load("model", cfg) == {"v": 7}


def test_empty_file_is_bad(tmp_path):
    store = Store(tmp_path)
    path = store.path("model", TinyCfg())
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    _load_expecting_bad(store, "model", TinyCfg(), "not a readable torch file")


def test_flipped_byte_in_tensor_data_is_caught(tmp_path):
    # torch.load itself would return the wrong numbers; the zip CRC check catches it.
    store = Store(tmp_path)
    cfg = TinyCfg()
    values = torch.arange(1000, dtype=torch.float32)
    path = store.save("model", cfg, {"v": values})
    data = bytearray(path.read_bytes())
    at = bytes(data).find(values.numpy().tobytes()[400:432])
    assert at > 0
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    _load_expecting_bad(store, "model", cfg, "CRC")


class NotAllowed:
    pass


def test_file_that_needs_unsafe_unpickling_is_bad(tmp_path):
    store = Store(tmp_path)
    cfg = TinyCfg()
    path = store.save("model", cfg, {"v": 1})
    raw = torch.load(path, weights_only=True)
    raw["payload"]["evil"] = NotAllowed()  # would need arbitrary code to unpickle
    torch.save(raw, path)
    _load_expecting_bad(store, "model", cfg, "weights_only")


@pytest.mark.parametrize(
    "content, match",
    [
        ({"v": 1}, "no header"),  # a torch file, but not one of ours
        (torch.ones(3), "no header"),
        ("header-less", "no header"),
        ({"header": {"format": "other"}, "payload": {}}, "not a numvars store file"),
    ],
)
def test_torch_files_that_are_not_store_files_are_bad(tmp_path, content, match):
    store = Store(tmp_path)
    path = store.path("model", TinyCfg())
    path.parent.mkdir(parents=True)
    torch.save(content, path)
    _load_expecting_bad(store, "model", TinyCfg(), match)


def test_header_without_payload_is_partial(tmp_path):
    store = Store(tmp_path)
    cfg = TinyCfg()
    path = store.save("model", cfg, {"v": 1})
    raw = torch.load(path, weights_only=True)
    del raw["payload"]
    torch.save(raw, path)
    _load_expecting_bad(store, "model", cfg, "partial")


def test_file_copied_from_another_config_is_foreign(tmp_path):
    store = Store(tmp_path)
    a, b = TinyCfg(d=20), TinyCfg(d=21)
    store.save("model", a, {"v": "A"})
    shutil.copyfile(store.path("model", a), store.path("model", b))
    _load_expecting_bad(store, "model", b, "foreign: recorded key")
    assert store.load("model", a) == {"v": "A"}  # the original is untouched
    assert store.get_or_create("model", b, lambda: {"v": "B"}) == {"v": "B"}
    assert store.load("model", b) == {"v": "B"}


def test_file_copied_from_another_kind_is_foreign(tmp_path):
    store = Store(tmp_path)
    cfg = TinyCfg()
    store.save("model", cfg, {"v": "model"})
    store.path("das", cfg).parent.mkdir()
    shutil.copyfile(store.path("model", cfg), store.path("das", cfg))
    _load_expecting_bad(store, "das", cfg, "foreign: recorded kind")


def test_file_whose_config_differs_under_the_same_key_is_foreign(tmp_path):
    # e.g. a 64-bit key collision, or a hand-edited header: the recorded config decides
    store = Store(tmp_path)
    cfg = TinyCfg()
    path = store.save("model", cfg, {"v": 1})
    raw = torch.load(path, weights_only=True)
    raw["header"]["config"] = canonical_json(TinyCfg(d=99))
    torch.save(raw, path)
    _load_expecting_bad(store, "model", cfg, "foreign: recorded config")


def test_file_from_older_format_version_is_foreign(tmp_path, monkeypatch):
    store = Store(tmp_path)
    cfg = TinyCfg()
    monkeypatch.setattr(store_mod, "FORMAT_VERSION", store_mod.FORMAT_VERSION - 1)
    store.save("model", cfg, {"v": "old"})
    monkeypatch.undo()
    _load_expecting_bad(store, "model", cfg, "format version")


def test_repeated_bad_files_never_overwrite_earlier_bad_files(tmp_path):
    store = Store(tmp_path)
    cfg = TinyCfg()
    path = store.path("model", cfg)
    path.parent.mkdir(parents=True)
    for i in range(3):
        path.write_bytes(f"garbage {i}".encode())
        with pytest.warns(StoreWarning):
            assert store.load("model", cfg) is None
    assert path.with_name(path.name + ".bad").read_bytes() == b"garbage 0"
    assert path.with_name(path.name + ".bad.1").read_bytes() == b"garbage 1"
    assert path.with_name(path.name + ".bad.2").read_bytes() == b"garbage 2"


def test_unreadable_file_is_an_error_not_a_bad_file(tmp_path):
    store = Store(tmp_path)
    path = store.path("model", TinyCfg())
    path.mkdir(parents=True)  # a directory where the file should be: an I/O problem
    with pytest.raises(OSError):
        store.load("model", TinyCfg())
    assert path.is_dir()


# --------------------------------------------------------------------------- get_or_create / exists


def test_get_or_create_builds_exactly_once(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return make_payload()

    cfg = Outer()
    first = Store(tmp_path).get_or_create("model", cfg, build)
    second = Store(tmp_path).get_or_create("model", cfg, build)  # a fresh Store: read from disk
    assert len(calls) == 1
    assert_same(first, make_payload())
    assert_same(second, first)
    Store(tmp_path).get_or_create("model", Outer(steps=1), build)  # another config builds again
    assert len(calls) == 2


def test_exists(tmp_path):
    store = Store(tmp_path)
    cfg = TinyCfg()
    assert not store.exists("model", cfg)
    store.save("model", cfg, {"v": 1})
    assert store.exists("model", cfg) and store.exists("model", cfg, verify=True)
    assert not store.exists("das", cfg) and not store.exists("model", TinyCfg(d=1))
    store.path("model", cfg).write_bytes(b"junk")
    assert store.exists("model", cfg)  # cheap check: a file is there
    with pytest.warns(StoreWarning):
        assert not store.exists("model", cfg, verify=True)
    assert not store.exists("model", cfg)  # moved aside by the verifying load


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMVARS_STORE", str(tmp_path / "elsewhere"))
    assert Store.default().root == tmp_path / "elsewhere"
    monkeypatch.delenv("NUMVARS_STORE")
    root = Store.default().root
    assert root.name == "store"
    assert (root.parent / "src" / "numvars" / "store.py").is_file()  # the repository root
    monkeypatch.setenv("NUMVARS_STORE", "")  # empty counts as unset
    assert Store.default().root == root


def test_warning_points_at_the_callers_line(tmp_path):
    store = Store(tmp_path)
    path = store.path("model", TinyCfg())
    path.parent.mkdir(parents=True)
    for call in (
        lambda: store.load("model", TinyCfg()),
        lambda: store.get_or_create("model", TinyCfg(), lambda: {"v": 1}),
        lambda: store.exists("model", TinyCfg(), verify=True),
    ):
        path.write_bytes(b"junk")
        with pytest.warns(StoreWarning) as record:
            call()
        assert record[0].filename == __file__


def test_file_replaced_by_another_process_while_read_is_not_moved_aside(tmp_path, monkeypatch):
    # A reader finds junk, but before it moves the file aside a writer atomically replaces it
    # with a good one: the good file must stay and be returned, not be quarantined.
    store = Store(tmp_path)
    cfg = TinyCfg()
    path = store.path("model", cfg)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"junk")
    real_decode = store_mod._decode
    raced = []

    def decode_then_race(*args):
        result = real_decode(*args)
        if result[1] is not None and not raced:
            raced.append(1)
            store.save("model", cfg, {"v": "fresh"})
        return result

    monkeypatch.setattr(store_mod, "_decode", decode_then_race)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.load("model", cfg) == {"v": "fresh"}
    assert raced == [1]
    assert only_files(path.parent) == [path.name]
