"""Regenerate ``tests/data/pyvene_rotated_space.pt``: frozen outputs of pyvene's
``RotatedSpaceIntervention`` that ``tests/test_das_pyvene.py`` compares ``numvars.das.interchange``
against, so the cross-check runs in CI without pyvene (which, with transformers, adds ~0.9 GB).

This is a script, not a test: pytest collects only ``test_*.py``, and nothing in the test suite
imports it. Run it in a throwaway virtualenv outside the repository:

    python3.11 -m venv /tmp/pyvene-venv
    /tmp/pyvene-venv/bin/pip install torch==2.13.0 pyvene==0.1.8   # keep torch pinned: CPU wheel
    /tmp/pyvene-venv/bin/python tests/data/make_pyvene_reference.py

It needs only torch and pyvene, not numvars: the test feeds the stored inputs to
``numvars.das.interchange`` itself.

Convention: pyvene keeps row vectors and rotates with ``x @ W``; numvars rotates with
``h @ R.T``, so the same intervention has ``W = R.T``. The file stores R, seeded inputs h_o and
h_s (32 × 20) and pyvene's outputs for k in (1, 7, 10, 20) swapped dimensions. R is made the way
numvars starts a learned DAS rotation with seed 4 (a seeded Gaussian ``nn.Linear`` weight under
``torch.nn.utils.parametrizations.orthogonal``), but any orthogonal R would do: it is stored.
"""

from pathlib import Path

import pyvene
import torch
from torch import nn
from torch.nn.utils.parametrizations import orthogonal

SIZE = 20
N_ROWS = 32
KS = (1, 7, 10, 20)
ROTATION_SEED = 4
OUT = Path(__file__).with_name("pyvene_rotated_space.pt")


def seeded_rotation(size: int, seed: int) -> torch.Tensor:
    """An orthogonal (size, size) matrix, the way numvars starts a DAS rotation."""
    linear = nn.Linear(size, size, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(size, size, generator=torch.Generator().manual_seed(seed)))
    return orthogonal(linear).weight.detach().clone()


def pyvene_output(rotation: torch.Tensor, h_o: torch.Tensor, h_s: torch.Tensor, k: int) -> torch.Tensor:
    """pyvene's rotated-space interchange of the first ``k`` rotated coordinates, with W = Rᵀ."""
    intervention = pyvene.RotatedSpaceIntervention(embed_dim=SIZE)
    intervention.set_interchange_dim(k)
    with torch.no_grad():
        intervention.rotate_layer.weight = rotation.T  # assigning through the orthogonal parametrization
    if not torch.allclose(intervention.rotate_layer.weight, rotation.T, atol=1e-5):
        raise RuntimeError("pyvene's rotate layer did not take the rotation Rᵀ")
    with torch.no_grad():
        return intervention(h_o.clone(), h_s.clone()).detach().clone()


def main() -> None:
    rotation = seeded_rotation(SIZE, ROTATION_SEED)
    generator = torch.Generator().manual_seed(0)
    h_o = torch.randn(N_ROWS, SIZE, generator=generator)
    h_s = torch.randn(N_ROWS, SIZE, generator=generator)
    reference = {
        "rotation": rotation,
        "h_o": h_o,
        "h_s": h_s,
        "outputs": {k: pyvene_output(rotation, h_o, h_s, k) for k in KS},
        "pyvene_version": str(getattr(pyvene, "__version__", None) or _dist_version("pyvene")),
        "torch_version": str(torch.__version__),  # a plain str: TorchVersion would not load with weights_only=True
    }
    torch.save(reference, OUT)
    print(
        f"wrote {OUT} ({OUT.stat().st_size} bytes): pyvene {reference['pyvene_version']}, torch {reference['torch_version']}"
    )


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
