"""Content-addressed artifacts (trained models, DAS results) keyed by a hash of their config.

An artifact is one file ``<root>/<kind>/<key>.pt`` where ``kind`` is a short name (``"model"``,
``"das"``) and ``key = config_hash(cfg)``. The file is a ``torch.save`` of::

    {"header": {"format": "numvars.store", "version": FORMAT_VERSION,
                "kind": kind, "key": key, "config": canonical_json(cfg)},
     "payload": payload}

- Writes are atomic: a temporary file in the same directory, fsync, then ``os.replace``. A reader
  sees the old file or the new one, never half of one; concurrent writers of the same key are
  safe (the last one wins; both wrote the same thing).
- Reads never trust the file: ``torch.load(weights_only=True)`` (no arbitrary code runs), the
  zip CRCs are checked (torch itself does not), and the header must match what was asked for.
  A corrupt, partial or foreign file is moved aside to ``<name>.bad`` with a
  :class:`StoreWarning`, and :meth:`Store.load` returns ``None`` so the caller rebuilds.
  Nothing is ever deleted.

What a config may contain (:func:`canonical_json`): frozen dataclasses (nested), dicts with
``str`` keys, lists and tuples (both become JSON arrays, so ``(1, 2)`` and ``[1, 2]`` hash the
same), ``str``, ``int``, ``float``, ``bool``, ``None``; enums (as ``"Class.NAME"``), paths (as
their POSIX string) and numpy scalars (as the equal Python scalar). Anything else — a function,
a tensor, an array, a set — is a ``TypeError`` naming the field.

What a payload may contain (what ``torch.load(weights_only=True)`` gives back unchanged):
tensors, ``dict`` / ``OrderedDict`` (keys ``str``/``int``/``float``/``bool``/``None``),
``list``, ``tuple``, ``str``, ``int``, ``float``, ``bool``, ``None``, ``torch.dtype``,
``torch.device``, ``torch.Size``. The top level must be a ``dict``. Tensors come back on the
CPU. A tensor that is a view saves its whole storage: ``.clone()`` small slices of big tensors.

Example::

    store = Store.default()
    state = store.get_or_create("model", cfg, lambda: {"state_dict": train(cfg).state_dict()})
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import hashlib
import io
import json
import math
import os
import re
import secrets
import sys
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any, Callable

import numpy as np
import torch

__all__ = [
    "FORMAT_VERSION",
    "HASH_LENGTH",
    "Store",
    "StoreWarning",
    "canonical_json",
    "config_hash",
]

FORMAT_VERSION = 1  # bump when the file layout changes: older files then count as foreign
FORMAT_NAME = "numvars.store"
HASH_LENGTH = 16  # hex characters of sha256 kept in a key (64 bits)
SUFFIX = ".pt"
ENV_VAR = "NUMVARS_STORE"

_KIND_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Tags of the canonical form. A config dict may not use these as keys, so a tagged object can
# never be confused with a plain dict (the encoding stays one-to-one).
_DATACLASS_TAG = "__dataclass__"
_FLOAT_TAG = "__float__"
_RESERVED_KEYS = (_DATACLASS_TAG, _FLOAT_TAG)

_CONFIG_ALLOWED = (
    "allowed: dataclass instances, dict with str keys, list, tuple, str, int, float, bool, "
    "None, enum members, paths, numpy scalars"
)
_PAYLOAD_ALLOWED = (
    "allowed: torch.Tensor, dict/OrderedDict (keys str/int/float/bool/None), list, tuple, "
    "str, int, float, bool, None, torch.dtype, torch.device, torch.Size"
)


class StoreWarning(UserWarning):
    """A stored file was corrupt, partial or foreign; it was moved aside and will be rebuilt."""


# --------------------------------------------------------------------------- config hashing


def _type_name(x: Any) -> str:
    t = type(x)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _canon(x: Any, where: str, active: set[int]) -> Any:
    """``x`` as plain JSON data (dict/list/str/int/float/bool/None); ``where`` names it in errors."""
    if x is None or isinstance(x, bool):
        return x
    if isinstance(x, enum.Enum):  # before int/str: IntEnum and StrEnum are ints and strs
        return f"{type(x).__qualname__}.{x.name}"
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        if math.isfinite(x):
            return float(x)  # json writes repr(x): the shortest string that round-trips exactly
        return {_FLOAT_TAG: "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}
    if isinstance(x, str):
        return str(x)
    if isinstance(x, np.generic) and isinstance(x.item(), (bool, int, float, str)):
        return _canon(x.item(), where, active)
    if isinstance(x, PurePath):
        return x.as_posix()

    is_dataclass = dataclasses.is_dataclass(x) and not isinstance(x, type)
    if not (is_dataclass or isinstance(x, (Mapping, list, tuple))):
        hint = "; use a sorted tuple" if isinstance(x, (set, frozenset)) else ""
        raise TypeError(
            f"config_hash: cannot canonicalise {where} of type {_type_name(x)}{hint} "
            f"({_CONFIG_ALLOWED})"
        )
    if id(x) in active:
        raise TypeError(f"config_hash: {where} contains itself; a config must be a tree")
    active.add(id(x))
    try:
        if is_dataclass:
            fields = {
                f.name: _canon(getattr(x, f.name), f"{where}.{f.name}", active)
                for f in dataclasses.fields(x)
            }
            return {_DATACLASS_TAG: type(x).__qualname__, "fields": fields}
        if isinstance(x, Mapping):
            out = {}
            for k, v in x.items():
                if not isinstance(k, str) or isinstance(k, enum.Enum):
                    raise TypeError(
                        f"config_hash: {where} has a key {k!r} of type {_type_name(k)}; "
                        f"config dict keys must be str"
                    )
                if k in _RESERVED_KEYS:
                    raise TypeError(
                        f"config_hash: {where} uses the reserved key {k!r}; "
                        f"any str key except {', '.join(map(repr, _RESERVED_KEYS))} is allowed"
                    )
                out[str(k)] = _canon(v, f"{where}[{k!r}]", active)
            return out
        return [_canon(v, f"{where}[{i}]", active) for i, v in enumerate(x)]
    finally:
        active.discard(id(x))


def canonical_json(cfg: Any) -> str:
    """The canonical JSON text of a config: what :func:`config_hash` hashes and files record.

    Dict keys (and dataclass fields) are sorted; no whitespace; ASCII only. Floats are written
    with ``repr`` (exact; ``1.0`` stays distinct from ``1``), non-finite floats as
    ``{"__float__": "nan" | "inf" | "-inf"}``, a dataclass as
    ``{"__dataclass__": <class __qualname__>, "fields": {...}}`` (the module is left out, so
    moving a class to another module keeps its keys). Lists and tuples are both JSON arrays.

    Raises:
        TypeError: ``cfg`` contains something that cannot be canonicalised; the message names
            the field (e.g. ``cfg.model.init``) and its type.
    """
    data = _canon(cfg, "cfg", set())
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def _hash_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def config_hash(cfg: Any) -> str:
    """A short, stable key for a config: the first 16 hex characters of sha256 of its canonical JSON.

    Stable across processes and Python runs (no ``hash()``), independent of dict key order,
    different for ``1``, ``1.0``, ``"1"`` and ``True``, and for two dataclasses that differ only
    in their class name. See :func:`canonical_json` for what a config may contain.

    Returns:
        str: 16 lowercase hex characters.

    Raises:
        TypeError: ``cfg`` cannot be canonicalised.
    """
    return _hash_text(canonical_json(cfg))


# --------------------------------------------------------------------------- payload checks


def _check_kind(kind: Any) -> str:
    if not isinstance(kind, str):
        raise TypeError(f"store kind must be a str, got {_type_name(kind)}")
    if not _KIND_RE.fullmatch(kind):
        raise ValueError(
            f"bad store kind {kind!r}: allowed are 1-64 characters from letters, digits, '_' "
            f"and '-' (e.g. 'model', 'das')"
        )
    return kind


_PAYLOAD_SCALARS = (type(None), bool, int, float, str, torch.dtype, torch.device)
_PAYLOAD_KEYS = (type(None), bool, int, float, str)


def _check_payload(x: Any, where: str, active: set[int]) -> None:
    """Raise TypeError unless ``x`` round-trips through ``torch.load(weights_only=True)``."""
    if type(x) in _PAYLOAD_SCALARS or isinstance(x, torch.Tensor):
        return
    if type(x) not in (dict, collections.OrderedDict, list, tuple, torch.Size):
        hint = ""
        if isinstance(x, (np.generic, np.ndarray)):
            hint = "; call .item() or torch.as_tensor() on numpy values"
        raise TypeError(f"cannot store {where} of type {_type_name(x)}{hint} ({_PAYLOAD_ALLOWED})")
    if id(x) in active:
        raise TypeError(f"cannot store {where}: it contains itself")
    active.add(id(x))
    try:
        if isinstance(x, dict):
            for k, v in x.items():
                if type(k) not in _PAYLOAD_KEYS:
                    raise TypeError(
                        f"cannot store {where}: key {k!r} has type {_type_name(k)} "
                        f"(allowed key types: str, int, float, bool, None)"
                    )
                _check_payload(v, f"{where}[{k!r}]", active)
        else:
            for i, v in enumerate(x):
                _check_payload(v, f"{where}[{i}]", active)
    finally:
        active.discard(id(x))


def _short(x: Any, limit: int = 200) -> Any:
    return x[:limit] + "..." if isinstance(x, str) and len(x) > limit else x


def _decode(data: bytes, kind: str, key: str, canon: str) -> tuple[Any, str | None]:
    """``(payload, None)`` if ``data`` is a sound file for (kind, key, canon), else ``(None, why)``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            broken = archive.testzip()  # torch.load does not check the CRCs
        if broken is not None:
            return None, f"corrupt (CRC mismatch in archive member {broken!r})"
    except MemoryError:
        raise
    except Exception as e:  # BadZipFile mostly; a damaged directory can raise others
        return None, f"not a readable torch file, truncated or garbage ({type(e).__name__}: {e})"
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except Exception as e:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        why = f"{type(e).__name__}: {_short(str(e))}"
        return None, f"unreadable with torch.load(weights_only=True) ({why})"

    if not (isinstance(obj, dict) and isinstance(obj.get("header"), dict)):
        return None, "partial or not a numvars store file (no header)"
    header = obj["header"]
    if header.get("format") != FORMAT_NAME:
        return None, f"not a numvars store file (format {header.get('format')!r})"
    if header.get("version") != FORMAT_VERSION:
        return None, f"foreign: format version {header.get('version')!r}, expected {FORMAT_VERSION}"
    for field, want in (("kind", kind), ("key", key), ("config", canon)):
        got = header.get(field)
        if got != want:
            return None, f"foreign: recorded {field} {_short(got)!r}, expected {_short(want)!r}"
    if "payload" not in obj or not isinstance(obj["payload"], dict):
        return None, "partial (header but no payload dict)"
    return obj["payload"], None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened; the rename is durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _caller_stacklevel() -> int:
    """``stacklevel`` for warnings.warn called from this module: the first frame outside it."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    fields = ("st_dev", "st_ino", "st_size", "st_mtime_ns")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


# --------------------------------------------------------------------------- the store


class Store:
    """A directory of artifacts, one file ``<root>/<kind>/<config_hash(cfg)>.pt`` per (kind, config).

    Args:
        root: the directory; created on the first :meth:`save`.
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser()

    @classmethod
    def default(cls) -> "Store":
        """``Store($NUMVARS_STORE)`` if that variable is set and non-empty, else ``Store(<repo>/store)``.

        ``<repo>`` is the parent of ``src/`` (right for the editable install this project uses).
        """
        env = os.environ.get(ENV_VAR)
        if env:
            return cls(env)
        return cls(Path(__file__).resolve().parents[2] / "store")

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def path(self, kind: str, cfg: Any) -> Path:
        """The file for (kind, cfg): ``root / kind / f"{config_hash(cfg)}.pt"`` (may not exist).

        Raises:
            ValueError: ``kind`` is empty or has characters other than letters, digits, ``_``, ``-``.
            TypeError: ``cfg`` cannot be canonicalised.
        """
        return self._locate(kind, cfg)[0]

    def _locate(self, kind: str, cfg: Any) -> tuple[Path, str, str]:
        """(path, key, canonical JSON) for (kind, cfg), validating both."""
        _check_kind(kind)
        canon = canonical_json(cfg)
        key = _hash_text(canon)
        return self.root / kind / f"{key}{SUFFIX}", key, canon

    def exists(self, kind: str, cfg: Any, *, verify: bool = False) -> bool:
        """Whether an artifact for (kind, cfg) is stored.

        By default a cheap check: the file exists; it is not opened, so a corrupt or foreign file
        counts until :meth:`load` finds out. ``verify=True`` does a full :meth:`load` (which moves
        a bad file aside with a :class:`StoreWarning`).
        """
        if verify:
            return self.load(kind, cfg) is not None
        return self.path(kind, cfg).is_file()

    def save(self, kind: str, cfg: Any, payload: dict) -> Path:
        """Write ``payload`` for (kind, cfg) atomically, replacing any older file; return its path.

        Args:
            kind: short name of the artifact family (letters, digits, ``_``, ``-``).
            cfg: the config the payload was built from (see :func:`canonical_json`).
            payload: a ``dict`` of tensors, nested dicts/lists/tuples and Python scalars/strings
                (see the module docstring); checked before anything is written.

        Raises:
            ValueError: bad ``kind``.
            TypeError: ``cfg`` cannot be canonicalised, or ``payload`` is not a dict or holds a
                value that ``torch.load(weights_only=True)`` would not give back.
        """
        path, key, canon = self._locate(kind, cfg)
        if type(payload) not in (dict, collections.OrderedDict):
            raise TypeError(f"payload must be a dict, got {_type_name(payload)}")
        _check_payload(payload, "payload", set())
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "kind": kind,
            "key": key,
            "config": canon,
        }

        path.parent.mkdir(parents=True, exist_ok=True)
        # Hidden temp name in the same directory (so os.replace is a same-filesystem rename);
        # O_EXCL never clobbers; mode 0o666 & ~umask like any ordinary file.
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save({"header": header, "payload": payload}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # our own half-written temp file, never the artifact
            raise
        _fsync_dir(path.parent)
        return path

    def load(self, kind: str, cfg: Any) -> dict | None:
        """The payload stored for (kind, cfg), or ``None`` if there is none or it cannot be trusted.

        A corrupt (truncated, garbage, CRC mismatch, not loadable with ``weights_only=True``),
        partial (no header or payload) or foreign file (recorded kind, key, config or format
        version differ from what was asked) is renamed to ``<name>.bad`` (``.bad.1``, ... if
        taken) with a :class:`StoreWarning` naming the file and the problem, and ``None`` is
        returned so the caller rebuilds. Tensors are loaded onto the CPU.

        Raises:
            ValueError / TypeError: as :meth:`path`.
            OSError: the file exists but cannot be read (permissions, I/O error): not a bad
                file, so it is left alone.
        """
        path, key, canon = self._locate(kind, cfg)
        for _ in range(3):  # retried only if another process replaced the file while we read it
            try:
                with open(path, "rb") as f:
                    seen = os.fstat(f.fileno())
                    data = f.read()
            except FileNotFoundError:
                return None
            payload, problem = _decode(data, kind, key, canon)
            if problem is None:
                return payload
            if self._move_aside(path, seen, problem):
                return None
        warnings.warn(
            f"numvars.store: {path} is {problem}, and keeps being replaced while read; "
            f"left in place, treating it as absent",
            StoreWarning,
            stacklevel=_caller_stacklevel(),
        )
        return None

    def get_or_create(self, kind: str, cfg: Any, build: Callable[[], dict]) -> dict:
        """The stored payload for (kind, cfg); if absent or bad, ``build()`` it, save it, return it.

        Args:
            build: zero-argument callable returning the payload (a dict, see :meth:`save`).
                Called only when nothing trustworthy is stored. Two processes asking for the same
                missing artifact at once may both build it; the results are equivalent and the
                last write wins.
        """
        payload = self.load(kind, cfg)
        if payload is None:
            payload = build()
            self.save(kind, cfg, payload)
        return payload

    def _move_aside(self, path: Path, seen: os.stat_result, problem: str) -> bool:
        """Rename the bad file at ``path`` to a free ``<name>.bad[.N]`` and warn.

        Returns False (nothing moved) if ``path`` is no longer the file that was read: another
        process replaced it, so the caller should read again.
        """
        try:
            if not _same_file(os.stat(path), seen):
                return False
        except FileNotFoundError:
            return True  # someone else moved or replaced-and-moved it: absent now
        bad = path.with_name(path.name + ".bad")
        n = 0
        while bad.exists():
            n += 1
            bad = path.with_name(f"{path.name}.bad.{n}")
        try:
            os.replace(path, bad)
        except FileNotFoundError:
            return True  # another reader moved it aside first
        warnings.warn(
            f"numvars.store: {path} is {problem}; moved it to {bad.name} (kept, not deleted) "
            f"and treating the artifact as absent, so it will be rebuilt",
            StoreWarning,
            stacklevel=_caller_stacklevel(),
        )
        return True
