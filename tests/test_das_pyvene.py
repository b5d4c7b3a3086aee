"""Cross-check of ``numvars.das.interchange`` against pyvene's ``RotatedSpaceIntervention``.

pyvene (Wu et al., Stanford NLP) is the intervention library whose ``RotatedSpaceIntervention``
implements Distributed Alignment Search, the DAS the paper's authors build on: rotate both
states, swap the first k rotated coordinates, rotate back.

pyvene is not installed in CI (with transformers it adds ~0.9 GB), so its outputs are frozen in
``tests/data/pyvene_rotated_space.pt``: a rotation R (20 × 20), seeded states h_o, h_s (32 × 20)
and pyvene's intervened states for k in (1, 7, 10, 20), with the pyvene and torch versions that
made them. The first tests compare numvars against that file and always run. The live test
recomputes pyvene's outputs and runs only where pyvene is installed
(``pip install -e '.[crosscheck]'``).

Convention: pyvene keeps row vectors and rotates with ``x @ W``; numvars rotates with
``h @ R.T``, so the same intervention has ``W = R.T``.

Regenerate the file (e.g. for a new pyvene) in a throwaway virtualenv outside the repository:

    python3.11 -m venv /tmp/pyvene-venv
    /tmp/pyvene-venv/bin/pip install torch==2.13.0 pyvene==0.1.8
    /tmp/pyvene-venv/bin/python tests/data/make_pyvene_reference.py
"""

from pathlib import Path

import pytest
import torch

from numvars.das import interchange

REFERENCE = Path(__file__).parent / "data" / "pyvene_rotated_space.pt"
KS = (1, 7, 10, 20)


@pytest.fixture(scope="module")
def frozen():
    return torch.load(REFERENCE, weights_only=True)


def test_frozen_reference_is_what_it_claims(frozen):
    """The file holds an orthogonal R, 32 × 20 inputs and one pyvene output per k, and says
    which pyvene made them (so a stale or truncated file is noticed, not silently compared)."""
    R = frozen["rotation"]
    assert R.shape == (20, 20) and torch.allclose(R @ R.T, torch.eye(20), atol=1e-5)
    assert frozen["h_o"].shape == frozen["h_s"].shape == (32, 20)
    assert sorted(frozen["outputs"]) == list(KS)
    assert isinstance(frozen["pyvene_version"], str) and frozen["pyvene_version"]
    assert isinstance(frozen["torch_version"], str) and frozen["torch_version"]
    for k in KS[:-1]:  # a partial swap is neither input: the comparison below is not trivial
        out = frozen["outputs"][k]
        assert not torch.allclose(out, frozen["h_o"], atol=1e-3) and not torch.allclose(out, frozen["h_s"], atol=1e-3)


@pytest.mark.parametrize("k", KS)
def test_interchange_matches_frozen_pyvene_outputs(frozen, k):
    ours = interchange(frozen["h_o"], frozen["h_s"], frozen["rotation"], k)
    assert torch.allclose(ours, frozen["outputs"][k], atol=1e-5), (ours - frozen["outputs"][k]).abs().max()


def test_wrong_rotation_convention_does_not_match_pyvene(frozen):
    """The check can fail: with R where Rᵀ belongs (i.e. pyvene's W taken as R itself), or with
    the last k coordinates swapped instead of the first, numvars would disagree with pyvene."""
    h_o, h_s, R, k = frozen["h_o"], frozen["h_s"], frozen["rotation"], 7
    theirs = frozen["outputs"][k]
    assert not torch.allclose(interchange(h_o, h_s, R.T, k), theirs, atol=1e-3)
    last_k = R.flip(0)  # rows reversed: the first k rotated coordinates become the last k
    assert not torch.allclose(interchange(h_o, h_s, last_k, k), theirs, atol=1e-3)
    # a full swap does not depend on the rotation: there both conventions give h_s
    assert torch.allclose(frozen["outputs"][20], h_s, atol=1e-5)


@pytest.mark.parametrize("k", KS)
def test_interchange_matches_live_pyvene_rotated_space_intervention(frozen, k):
    """The same comparison against pyvene itself (skipped unless pyvene is installed); also
    tells whether the installed pyvene still reproduces the frozen outputs."""
    pyvene = pytest.importorskip("pyvene")
    R, h_o, h_s = frozen["rotation"], frozen["h_o"], frozen["h_s"]
    intervention = pyvene.RotatedSpaceIntervention(embed_dim=R.shape[0])
    intervention.set_interchange_dim(k)
    with torch.no_grad():
        intervention.rotate_layer.weight = R.T  # assigning through the orthogonal parametrization
    assert torch.allclose(intervention.rotate_layer.weight, R.T, atol=1e-5)
    with torch.no_grad():
        theirs = intervention(h_o.clone(), h_s.clone())
    assert torch.allclose(interchange(h_o, h_s, R, k), theirs, atol=1e-5)
    installed = getattr(pyvene, "__version__", "?")
    assert torch.allclose(theirs, frozen["outputs"][k], atol=1e-5), (
        f"pyvene {installed} no longer reproduces the outputs frozen with pyvene {frozen['pyvene_version']}: regenerate them"
    )
