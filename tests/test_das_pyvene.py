"""Optional cross-check against pyvene's RotatedSpaceIntervention (the DAS implementation the
authors build on). Install with ``pip install -e '.[crosscheck]'``; skipped when pyvene is absent.

pyvene keeps row vectors and rotates with ``x @ W``; numvars rotates with ``h @ R.T``, so the
same intervention has ``W = R.T``."""

import pytest
import torch

from numvars.das import RotationAlignment, interchange

pyvene = pytest.importorskip("pyvene")


@pytest.mark.parametrize("k", [1, 7, 10, 20])
def test_interchange_matches_pyvene_rotated_space_intervention(k):
    size = 20
    rotation = RotationAlignment(size, 1, seed=4).rotation.detach()
    intervention = pyvene.RotatedSpaceIntervention(embed_dim=size)
    intervention.set_interchange_dim(k)
    with torch.no_grad():
        intervention.rotate_layer.weight = rotation.T  # assigning through the orthogonal parametrization
    assert torch.allclose(intervention.rotate_layer.weight, rotation.T, atol=1e-5)
    generator = torch.Generator().manual_seed(k)
    h_o, h_s = torch.randn(32, size, generator=generator), torch.randn(32, size, generator=generator)
    with torch.no_grad():
        theirs = intervention(h_o.clone(), h_s.clone())
    assert torch.allclose(interchange(h_o, h_s, rotation, k), theirs, atol=1e-5)
