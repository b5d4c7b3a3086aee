"""A file cache of results (trained runs, DAS measurements), keyed by a hash of their config.

Layout: one file ``<root>/<kind>/<config_hash(cfg)>.pt`` per (kind, config), written by
``torch.save`` to a temporary file and renamed into place, so a reader never sees half a file.
The file holds ``{"header": {"format", "version", "kind", "key", "config"}, "payload": {...}}``.

A file is bad if its zip CRCs fail, it is truncated or garbage, it needs more than
``torch.load(weights_only=True)`` to load, or its header is missing or records another kind, key,
config or format version. :meth:`Store.load` moves a bad file aside to ``<name>.bad`` (nothing is
deleted), warns with :class:`StoreWarning` and returns ``None``, so the caller rebuilds it.

The store must be a path every worker sees (on a cluster: shared storage, the same path on every
machine); :meth:`Store.check_writable` checks this in a worker.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import re
import secrets
import socket
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "OMIT_IF_DEFAULT",
    "Store",
    "StoreNotWritable",
    "StoreWarning",
    "canonical_json",
    "config_hash",
    "remove_partial_writes",
]

FORMAT_NAME = "numvars.store"
FORMAT_VERSION = 1  # bump when the file layout changes: older files then count as foreign
_KIND = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DATACLASS, _FLOAT = "__dataclass__", "__float__"  # tags of the canonical form
#: a dataclass field's metadata key: leave the field out of the canonical form while it holds its
#: default, so adding a field to a config keeps every existing key
OMIT_IF_DEFAULT = "omit_if_default"
_PARTIAL: set[Path] = set()  # temporary files of the writes in progress in this process


def remove_partial_writes() -> None:
    """Remove the temporary files of the writes in progress in this process: what a worker that
    is made to end at once (``os._exit`` from a signal handler) calls first, so it leaves no
    temporary file behind (the stored files themselves are never half-written)."""
    for tmp in list(_PARTIAL):
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


class StoreWarning(UserWarning):
    """A stored file was bad; it was moved aside and will be rebuilt."""


class StoreNotWritable(OSError):
    """The store folder cannot be written from this machine."""


def _canon(x: Any, where: str) -> Any:
    """``x`` as plain JSON data; ``where`` (e.g. ``cfg.run.task``) names it in errors."""
    if x is None or type(x) in (bool, int, str):
        return x
    if type(x) is float:  # json writes repr(x): exact, and 1.0 stays distinct from 1
        return x if math.isfinite(x) else {_FLOAT: "nan" if x != x else "inf" if x > 0 else "-inf"}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        fields = {
            f.name: _canon(getattr(x, f.name), f"{where}.{f.name}")
            for f in dataclasses.fields(x)
            if not (f.metadata.get(OMIT_IF_DEFAULT) and getattr(x, f.name) == f.default)
        }
        return {_DATACLASS: type(x).__qualname__, "fields": fields}
    if isinstance(x, (list, tuple)):
        return [_canon(v, f"{where}[{i}]") for i, v in enumerate(x)]
    if isinstance(x, dict):
        for k in x:
            if type(k) is not str or k in (_DATACLASS, _FLOAT):
                raise TypeError(
                    f"config_hash: {where} has the key {k!r}; config dict keys must be "
                    f"str other than {_DATACLASS!r} and {_FLOAT!r}"
                )
        return {k: _canon(v, f"{where}[{k!r}]") for k, v in x.items()}
    t = type(x)
    raise TypeError(
        f"config_hash: cannot canonicalise {where} of type {t.__module__}.{t.__qualname__} "
        "(allowed: dataclasses, dict with str keys, list, tuple, str, int, float, bool, None)"
    )


def canonical_json(cfg: Any) -> str:
    """The canonical JSON of a config, what :func:`config_hash` hashes and files record.

    Sorted keys, no whitespace, ASCII; floats by ``repr`` (non-finite ones as
    ``{"__float__": "nan"|"inf"|"-inf"}``); a dataclass as ``{"__dataclass__": <__qualname__>,
    "fields": {...}}`` (without the fields marked :data:`OMIT_IF_DEFAULT` that hold their
    default); lists and tuples both as arrays. Anything else is a ``TypeError`` naming
    the field and its type.
    """
    return json.dumps(_canon(cfg, "cfg"), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def config_hash(cfg: Any) -> str:
    """The key of a config: the first 16 hex characters of sha256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(cfg).encode()).hexdigest()[:16]


def _decode(data: bytes, kind: str, key: str, config: str) -> tuple[dict | None, str | None]:
    """``(payload, None)`` if ``data`` is a sound file for (kind, key, config), else ``(None, why)``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            broken = archive.testzip()  # torch.load does not check CRCs
    except Exception as e:
        return None, f"not a readable torch file: truncated or garbage ({type(e).__name__}: {e})"
    if broken is not None:
        return None, f"corrupt: CRC mismatch in {broken!r}"
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:
        first_line = (str(e).splitlines() or [""])[0][:200]
        return None, f"not loadable with torch.load(weights_only=True) ({type(e).__name__}: {first_line})"
    header = obj.get("header") if isinstance(obj, dict) else None
    if not isinstance(header, dict):
        return None, "not a store file (no header)"
    if (header.get("format"), header.get("version")) != (FORMAT_NAME, FORMAT_VERSION):
        return None, (
            f"foreign: format {header.get('format')!r} version {header.get('version')!r}, "
            f"expected {FORMAT_NAME!r} version {FORMAT_VERSION}"
        )
    for field, want in (("kind", kind), ("key", key), ("config", config)):
        if header.get(field) != want:
            return None, f"foreign: recorded {field} {header.get(field)!r}, expected {want!r}"
    if not isinstance(obj.get("payload"), dict):
        return None, "partial: header but no payload dict"
    return obj["payload"], None


class Store:
    """A folder of cached results, one file ``<root>/<kind>/<config_hash(cfg)>.pt`` each."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser()

    @classmethod
    def default(cls) -> Store:
        """``Store($NUMVARS_STORE)`` if that is set and non-empty, else ``Store(<repo>/store)``."""
        return cls(os.environ.get("NUMVARS_STORE") or Path(__file__).resolve().parents[2] / "store")

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def _locate(self, kind: str, cfg: Any) -> tuple[Path, str, str]:
        """(path, key, canonical JSON) of (kind, cfg)."""
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise ValueError(f"bad store kind {kind!r}: use 1-64 letters, digits, '_' or '-'")
        key = config_hash(cfg)
        return self.root / kind / f"{key}.pt", key, canonical_json(cfg)

    def save(self, kind: str, cfg: Any, payload: dict) -> Path:
        """Write ``payload`` (a dict of tensors, dicts, lists, scalars) for (kind, cfg); return the path.

        Atomic: a temporary file in the same folder, then ``os.replace``; if writing fails, the old
        file stays and the temporary file is removed.
        """
        path, key, config = self._locate(kind, cfg)
        if not isinstance(payload, dict):
            raise TypeError(f"payload must be a dict, got {type(payload).__name__}")
        header = dict(format=FORMAT_NAME, version=FORMAT_VERSION, kind=kind, key=key, config=config)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        _PARTIAL.add(tmp)
        try:
            with open(tmp, "xb") as f:
                torch.save({"header": header, "payload": payload}, f)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            _PARTIAL.discard(tmp)
        return path

    def load(self, kind: str, cfg: Any) -> dict | None:
        """The payload stored for (kind, cfg) with tensors on the CPU; ``None`` if absent or bad.

        A bad file (see the module docstring) is moved to ``<name>.bad`` (``.bad.1``, ... if
        taken) with a :class:`StoreWarning`. A file that cannot be read (permissions, I/O) raises
        ``OSError`` and is left alone.
        """
        path, key, config = self._locate(kind, cfg)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        payload, problem = _decode(data, kind, key, config)
        if problem is None:
            return payload
        bad, n = path.with_name(f"{path.name}.bad"), 0
        while bad.exists():
            n += 1
            bad = path.with_name(f"{path.name}.bad.{n}")
        try:
            os.replace(path, bad)
        except FileNotFoundError:  # another reader moved it aside first
            return None
        warnings.warn(
            f"numvars.store: {path} is {problem}; moved it to {bad.name}, treating it as absent",
            StoreWarning,
            stacklevel=2,
        )
        return None

    def exists(self, kind: str, cfg: Any, *, verify: bool = False) -> bool:
        """Whether (kind, cfg) is stored: the file is there, or with ``verify`` it :meth:`load`\\ s."""
        if verify:
            return self.load(kind, cfg) is not None
        return self._locate(kind, cfg)[0].is_file()

    def check_writable(self) -> None:
        """Create the root if needed and write and remove a probe file; else :class:`StoreNotWritable`."""
        probe = self.root / f".probe.{secrets.token_hex(6)}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"probe")
            probe.unlink()
        except OSError as e:
            raise StoreNotWritable(
                f"cannot write the store {self.root} on host {socket.gethostname()}: {e}; the store must be a folder every "
                "worker can write (on a cluster: shared storage, the same path on every machine)"
            ) from e
