"""Trained networks shipped with the repository, so that no reader has to train to check a number.

``python -m numvars results`` writes, beside a profile's tables, the weights of every network it
trained: ``results/<profile>/networks/<condition>.pt``, one file per training condition (its
seeds), and ``index.json`` (which file holds which network). Each network keeps what its
measurements and tables read — the analysed checkpoint (saved once: the analysed weights are that
checkpoint's tensors), the criterion checkpoint where the profile measures one, the learning-curve
checkpoints of the quick profile's chapter 5, the training history, the behavioural test — not the
checkpoint of every fifth epoch the store keeps (the paper profile's learning-curve checkpoints
would take about 12 MB). A network asked for at a checkpoint it was not shipped with is trained
again (:func:`numvars.runner.ensure`).

:func:`restore` copies shipped networks into a store that lacks them;
:func:`numvars.runner.ensure` calls it before training anything, so a measurement, a chapter or
``python -m numvars verify`` starts from the shipped weights. A restored run is the stored run,
to the bit: the tables it gives are the committed ones.

Shapes: a network's ``state`` is a one-member model's ``state_dict`` (each tensor ``(1, ...)``).
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import secrets
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import torch

from numvars.grids import SHIPPED_CURVES, Profile
from numvars.jobs import RUN_KIND, DasConfig, load_run
from numvars.store import Store, canonical_json, config_hash
from numvars.training import RunResult, TrainConfig

FORMAT_NAME = "numvars.shipped"
FORMAT_VERSION = 1
INDEX = "index.json"
#: the history columns of a run, and the dtype that holds each exactly (loss and validation accuracy
#: are float32 values; the learning rate a Python float)
HISTORY = {"epoch": torch.int32, "loss": torch.float32, "val_accuracy": torch.float32, "lr": torch.float64}


class ShippedError(ValueError):
    """A shipped network file is missing, corrupt or from another format."""


def networks_dir(results: Path, profile: str) -> Path:
    """Where a profile's networks are shipped: ``<results>/<profile>/networks``."""
    return Path(results) / profile / "networks"


# ------------------------------------------------------------------------------- writing
def _history_tensors(history: Sequence[Mapping]) -> dict[str, torch.Tensor]:
    return {name: torch.tensor([h[name] for h in history], dtype=dtype) for name, dtype in HISTORY.items()}


def _history_rows(columns: Mapping[str, torch.Tensor]) -> list[dict]:
    values = {name: columns[name].tolist() for name in HISTORY}
    return [{name: values[name][i] for name in HISTORY} for i in range(len(values["epoch"]))]


def shipped_payload(run: RunResult, checkpoints: Iterable[str | int] = ()) -> dict:
    """What is shipped of ``run``: every field of its stored payload, the checkpoints cut to the
    analysed one and ``checkpoints`` (``"criterion"``, saved epochs; for a dropped run: its last),
    the history as columns. The analysed weights are that checkpoint's own tensors (as
    :func:`numvars.training.train` returns them), so the file holds them once."""
    checkpoints = set(checkpoints)
    named = {run.analysed_epoch} | ({run.criterion_epoch} if "criterion" in checkpoints else set())
    keep = ((named - {None}) | {c for c in checkpoints if not isinstance(c, str)}) or {run.epochs}
    payload = run.to_payload()
    payload["checkpoints"] = {epoch: state for epoch, state in run.checkpoints.items() if epoch in keep}
    payload["history"] = _history_tensors(run.history)
    return payload


def _slug(config: TrainConfig) -> str:
    """A file name for a training condition: readable, and unique by the condition's hash."""
    task = (
        config.task.kind
        + ("-bare" if config.task.framing != "full" else "")
        + (f"-void{config.task.void_p}" if config.task.void_p else "")
    )
    arch = config.arch + (f"-{config.n_layers}L-{config.positional}" if config.arch == "transformer" else "")
    return re.sub(r"[^A-Za-z0-9.+-]", "_", f"{arch}-d{config.d}-{task}-{config_hash(config.condition())[:8]}")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _encode(networks: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT_NAME, "version": FORMAT_VERSION, "networks": networks}, buffer)
    return buffer.getvalue()


def ship(
    runs: Sequence[RunResult], folder: Path, checkpoints: Mapping[TrainConfig, Iterable[str | int]] | None = None
) -> list[Path]:
    """Write ``runs`` into ``folder`` (one file per training condition, and the index), keeping
    any network shipped there before that ``runs`` does not replace. ``checkpoints``: what to
    ship beside the analysed checkpoint, per network (``"criterion"``, saved epochs). A file whose
    content would not change is not rewritten. Returns the files written."""
    checkpoints = checkpoints or {}
    folder.mkdir(parents=True, exist_ok=True)
    index = read_index(folder) if (folder / INDEX).exists() else {}
    by_file: dict[str, dict] = {}
    for run in runs:
        by_file.setdefault(_slug(run.config) + ".pt", {})[config_hash(run.config)] = dict(
            config=canonical_json(run.config), run=shipped_payload(run, checkpoints.get(run.config, ()))
        )
    written = []
    for name, networks in sorted(by_file.items()):
        path = folder / name
        old = _read_file(path)["networks"] if path.exists() else {}
        data = _encode(dict(sorted({**old, **networks}.items())))
        if not path.exists() or path.read_bytes() != data:
            _atomic_write(path, data)
            written.append(path)
        index.update({key: name for key in networks})
    text = json.dumps(dict(sorted(index.items())), indent=1) + "\n"
    if not (folder / INDEX).exists() or (folder / INDEX).read_text() != text:
        _atomic_write(folder / INDEX, text.encode())
        written.append(folder / INDEX)
    _index_of.cache_clear()
    return written


def checkpoints_needed(measurements: Iterable[DasConfig], curves: bool = True) -> dict[TrainConfig, set[str | int]]:
    """The checkpoints other than the analysed one that ``measurements`` measure, per network:
    ``"criterion"``, and (``curves``) the saved epochs of the learning curves — what a shipped
    network must hold to serve them."""
    checkpoints: dict[TrainConfig, set[str | int]] = {}
    for config in measurements:
        if config.trained and config.checkpoint != "analysed" and (curves or not config.at_epoch):
            checkpoints.setdefault(config.run, set()).add(config.checkpoint)
    return checkpoints


def ship_profile(profile: Profile, store: Store, folder: Path) -> list[Path]:
    """:func:`ship` every network of ``profile`` the store holds into ``folder`` (a profile's is
    :func:`networks_dir`), with the criterion checkpoints the profile measures, and the
    learning-curve checkpoints where :data:`numvars.grids.SHIPPED_CURVES` says so (a profile it
    does not name: with them)."""
    runs = [run for run in (load_run(config, store) for config in profile.train_configs()) if run is not None]
    return ship(runs, folder, checkpoints_needed(profile.das_configs(), curves=SHIPPED_CURVES.get(profile.name, True)))


# ------------------------------------------------------------------------------- reading
def read_index(folder: Path) -> dict[str, str]:
    """``{config hash: file name}`` of a networks folder."""
    try:
        index = json.loads((folder / INDEX).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ShippedError(f"cannot read the shipped-network index {folder / INDEX}: {error}") from None
    if not isinstance(index, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in index.items()):
        raise ShippedError(f"{folder / INDEX} is not an index of shipped networks ({{config hash: file name}})")
    return index


def _read_file(path: Path) -> dict:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ShippedError(
            f"the shipped network file {path} is unreadable ({type(error).__name__}): "
            "restore it with `git checkout` or write it again with `python -m numvars results`"
        ) from None
    if not isinstance(obj, dict) or (obj.get("format"), obj.get("version")) != (FORMAT_NAME, FORMAT_VERSION):
        raise ShippedError(f"{path} is not a shipped-network file of format {FORMAT_NAME!r} version {FORMAT_VERSION}")
    return obj


@functools.lru_cache(maxsize=None)
def _index_of(results: Path) -> dict[str, Path]:
    """{config hash: file} over every profile's networks under ``results`` (read once)."""
    files = {}
    for index in sorted(results.glob(f"*/networks/{INDEX}")):
        files.update({key: index.parent / name for key, name in read_index(index.parent).items()})
    return files


def default_results() -> Path:
    """The repository's ``results/`` folder (where the committed tables and networks are)."""
    return Path(__file__).resolve().parents[2] / "results"


def shipped_run(config: TrainConfig, results: Path | None = None) -> RunResult | None:
    """The shipped run of ``config``, or ``None`` if none is shipped. A corrupt file, or one that
    holds another network under this network's key, is a :class:`ShippedError`."""
    path = _index_of(Path(results or default_results())).get(config_hash(config))
    if path is None:
        return None
    entry = _read_file(path)["networks"].get(config_hash(config))
    if entry is None or entry.get("config") != canonical_json(config):
        raise ShippedError(
            f"{path} does not hold the network {config} its index points to: write it again with "
            "`python -m numvars results`"
        )
    payload = dict(entry["run"], history=_history_rows(entry["run"]["history"]))
    return RunResult.from_payload(config, payload)


def restore(
    configs: Iterable[TrainConfig],
    store: Store,
    checkpoints: Mapping[TrainConfig, Iterable[str | int]] | None = None,
    results: Path | None = None,
) -> list[TrainConfig]:
    """Copy into ``store`` every network of ``configs`` it lacks and that is shipped with each
    checkpoint ``checkpoints`` asks of it (``"criterion"``, saved epochs; a network needed at a
    checkpoint it was not shipped with is left to training). A stored file is not read here (a
    corrupt one is rebuilt by the runner). Returns the configs restored."""
    checkpoints = checkpoints or {}
    restored = []
    for config in dict.fromkeys(configs):
        if store.exists(RUN_KIND, config):
            continue
        run = shipped_run(config, results)
        if run is None or not run.holds(checkpoints.get(config, ())):
            continue
        payload = run.to_payload()
        store.save(RUN_KIND, config, payload)
        restored.append(config)
    return restored
