"""Trained networks shipped with the repository, so that no reader has to train to check a number.

``python -m numvars results`` writes, beside a profile's tables, the weights of every network it
trained: ``results/<profile>/networks/<condition>.pt``, one file per training condition (its
seeds), and ``index.json`` (which file holds which network). Each network keeps what its
measurements and tables read — the analysed and criterion checkpoints (and, for the quick
profile, the learning-curve checkpoints its chapter 5 measures), the training history, the
behavioural test — not the checkpoint of every fifth epoch the store keeps (the paper profile's
learning-curve checkpoints would take about 12 MB: those networks are trained again when a
learning curve is asked for).

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
from numvars.jobs import RUN_KIND, load_run
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


def shipped_payload(run: RunResult, epochs: Iterable[int] = ()) -> dict:
    """What is shipped of ``run``: every field of its stored payload, the checkpoints cut to the
    analysed and criterion epochs (for a dropped run: its last) and ``epochs``, the history as
    columns."""
    keep = {run.analysed_epoch, run.criterion_epoch, *epochs} - {None} or {run.epochs}
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
    runs: Sequence[RunResult], folder: Path, epochs: Mapping[TrainConfig, Iterable[int]] | None = None
) -> list[Path]:
    """Write ``runs`` into ``folder`` (one file per training condition, and the index), keeping
    any network shipped there before that ``runs`` does not replace. ``epochs``: checkpoints to
    ship beside the analysed and criterion ones, per network. A file whose content would not
    change is not rewritten. Returns the files written."""
    epochs = epochs or {}
    folder.mkdir(parents=True, exist_ok=True)
    index = read_index(folder) if (folder / INDEX).exists() else {}
    by_file: dict[str, dict] = {}
    for run in runs:
        by_file.setdefault(_slug(run.config) + ".pt", {})[config_hash(run.config)] = dict(
            config=canonical_json(run.config), run=shipped_payload(run, epochs.get(run.config, ()))
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


def measured_epochs(profile: Profile) -> dict[TrainConfig, set[int]]:
    """The saved epochs (learning curves) a profile's DAS grid measures, per network."""
    epochs: dict[TrainConfig, set[int]] = {}
    for config in profile.das_configs():
        if config.trained and config.at_epoch:
            epochs.setdefault(config.run, set()).add(config.checkpoint)
    return epochs


def ship_profile(profile: Profile, store: Store, folder: Path) -> list[Path]:
    """:func:`ship` every network of ``profile`` the store holds into ``folder`` (a profile's is
    :func:`networks_dir`), with the learning-curve checkpoints where
    :data:`numvars.grids.SHIPPED_CURVES` says so (a profile it does not name: with them)."""
    runs = [run for run in (load_run(config, store) for config in profile.train_configs()) if run is not None]
    epochs = measured_epochs(profile) if SHIPPED_CURVES.get(profile.name, True) else {}
    return ship(runs, folder, epochs)


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
    epochs: Mapping[TrainConfig, Iterable[int]] | None = None,
    results: Path | None = None,
) -> list[TrainConfig]:
    """Copy into ``store`` every network of ``configs`` it lacks and that is shipped with each
    checkpoint ``epochs`` asks of it (a network needed at an epoch it was not shipped with is
    left to training). A stored file is not read here (a corrupt one is rebuilt by the runner).
    Returns the configs restored."""
    epochs = epochs or {}
    restored = []
    for config in dict.fromkeys(configs):
        if store.exists(RUN_KIND, config):
            continue
        run = shipped_run(config, results)
        if run is None or not set(epochs.get(config, ())) <= set(run.checkpoints):
            continue
        payload = run.to_payload()
        store.save(RUN_KIND, config, payload)
        restored.append(config)
    return restored
