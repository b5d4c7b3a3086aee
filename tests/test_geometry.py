"""numvars.geometry: principal angles and PCA against known subspaces, state labels by hand,
the order and jump measures on synthetic states built to have (or lack) what they measure."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from numvars.das import FIXED_ALIGNMENTS, interchange, seeded_rotation
from numvars.geometry import (
    count_order,
    count_subspace,
    jump_at_T,
    pca,
    principal_angles,
    state_table,
    summarise,
    variance_share,
)
from numvars.jobs import load_run
from numvars.models import ModelConfig, build_model
from numvars.programs import get_program
from numvars.tasks import Task

SINGLE = Task("single")


def e(i, size=6):
    return torch.eye(size)[i]


def test_principal_angles_of_known_subspaces():
    a = torch.eye(6)[:3]
    assert principal_angles(a, a).tolist() == pytest.approx([0, 0, 0], abs=1e-5)
    assert principal_angles(a, torch.eye(6)[3:5]).tolist() == pytest.approx([90, 90], abs=1e-5)
    theta = 37.0
    tilted = math.cos(math.radians(theta)) * e(0) + math.sin(math.radians(theta)) * e(1)
    assert principal_angles(e(0)[None], tilted[None]).tolist() == pytest.approx([theta], abs=1e-4)
    # span{e0, e2} against span{e0, tilted}: one shared direction, one at 90° (e2 vs e1)
    assert principal_angles(torch.stack([e(0), e(2)]), torch.stack([e(0), tilted])).tolist() == pytest.approx(
        [0, 90], abs=1e-4
    )
    # another basis of the same subspaces (scaled, mixed) gives the same angles
    b = torch.stack([e(0), tilted + e(3)])
    mix = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
    assert principal_angles(mix @ torch.stack([e(0), e(2)]), mix @ b).tolist() == pytest.approx(
        principal_angles(torch.stack([e(0), e(2)]), b).tolist(), abs=1e-4
    )
    with pytest.raises(ValueError):
        principal_angles(torch.eye(3), torch.eye(4))


def test_pca_finds_the_dominant_direction_with_fixed_signs():
    g = torch.Generator().manual_seed(0)
    direction = torch.tensor([0.6, -0.8, 0.0, 0.0])
    data = (
        5 * torch.randn(500, 1, generator=g) * direction
        + 0.3 * torch.randn(500, 4, generator=g)
        + torch.tensor([1.0, 2, 3, 4])
    )
    fit = pca(data)
    assert fit.components[0] @ direction == pytest.approx(-1, abs=0.01)  # the largest |entry| (-0.8) is made positive
    assert fit.components[0, 1] > 0
    assert torch.allclose(fit.components @ fit.components.T, torch.eye(4), atol=1e-5)
    ratios = fit.explained.tolist()
    assert ratios == sorted(ratios, reverse=True) and sum(ratios) == pytest.approx(1) and ratios[0] > 0.9
    assert fit.project(fit.mean[None]).abs().max() < 1e-5
    top = pca(data, n_components=2)
    assert top.components.shape == (2, 4) and top.explained.sum() < 1
    assert torch.equal(top.components, pca(data.clone(), 2).components)
    assert torch.allclose(
        pca(-data, 2).components, top.components, atol=1e-6
    )  # sign fixed by the convention, not by the data
    with pytest.raises(ValueError):
        pca(data, n_components=5)


def test_count_subspace_is_what_the_swap_moves():
    rotation = seeded_rotation(6, 3)
    assert torch.allclose(count_subspace(rotation, 2), rotation[:2], atol=1e-6)
    g = torch.Generator().manual_seed(1)
    h_o, h_s = torch.randn(5, 6, generator=g), torch.randn(5, 6, generator=g)
    linear = rotation + 0.3 * torch.randn(6, 6, generator=g)
    for matrix, moved in (
        (rotation, interchange(h_o, h_s, rotation, 2) - h_o),
        (linear, FIXED_ALIGNMENTS["linear"](linear, 2)(h_o, h_s) - h_o),
    ):
        basis = count_subspace(matrix, 2)
        inside = moved @ torch.linalg.pinv(basis) @ basis  # the part of the move within the subspace
        assert torch.allclose(inside, moved, atol=1e-4)
        assert moved.abs().max() > 0.1
    assert principal_angles(count_subspace(linear, 2), linear[:2]).max() > 1  # not the span of A's first rows


def test_state_table_labels_by_hand_and_states_from_the_model():
    model = build_model(ModelConfig(arch="gru", vocab_size=len(SINGLE.vocab)), seeds=(0,)).eval()
    short, long = SINGLE.encode("B D D T R R E"), SINGLE.encode("B D D D T R R R E")
    tokens = SINGLE.pad([short, long])
    states, labels = state_table(model, SINGLE, tokens)
    assert len(labels) == len(states) == 7 + 9  # the PAD positions of the short row are dropped
    first = labels[labels["sequence"] == 0]
    assert first["token"].tolist() == "B D D T R R E".split()
    assert first["count"].tolist() == [0, 1, 2, 2, 1, 0, 0]  # after reading each token
    assert first["phase"].tolist() == ["demo"] * 3 + ["response"] * 4
    assert first["is_T"].tolist() == [False, False, False, True, False, False, False]
    assert (first["n"] == 2).all() and (labels[labels["sequence"] == 1]["n"] == 3).all()
    assert labels["count"].tolist() == [
        v["count"] for ids in (short, long) for v in get_program("up_down", SINGLE).trace(ids)
    ]
    with torch.no_grad():
        full = model(tokens).states
    assert torch.equal(states[:7], full[0, :7]) and torch.equal(states[7:], full[1])
    with pytest.raises(ValueError):
        state_table(build_model(model.config, seeds=(0, 1)), SINGLE, tokens)
    for arch, size in (("lstm", 40), ("transformer", 20)):  # [h; c], and the residual stream after layer 1
        other, _ = state_table(
            build_model(ModelConfig(arch=arch, vocab_size=len(SINGLE.vocab)), seeds=(0,)).eval(), SINGLE, tokens
        )
        assert other.shape == (16, size)


def synthetic(ns, dims=4, jump=0.0):
    """Labels of Single-Object sequences of the given N, and states (count, phase·jump, 0, …)."""
    tokens = SINGLE.pad([SINGLE.encode(["B", *["D"] * n, "T", *["R"] * n, "E"]) for n in ns])
    _, labels = state_table(
        build_model(ModelConfig(arch="gru", vocab_size=len(SINGLE.vocab)), seeds=(0,)).eval(), SINGLE, tokens
    )
    states = torch.zeros(len(labels), dims)
    states[:, 0] = torch.tensor(labels["count"].to_numpy(), dtype=torch.float)
    states[:, 1] = jump * torch.tensor((labels["phase"] == "response").to_numpy(), dtype=torch.float)
    return states, labels


def test_count_order_is_one_for_a_count_axis_and_near_zero_for_shuffled_states():
    states, labels = synthetic(range(1, 21))
    order = count_order(pca(states).project(states), labels).set_index("phase")
    assert order.loc[["demo", "response", "all"], "spearman"].abs().tolist() == pytest.approx([1, 1, 1])
    assert order.loc["all", "n"] == len(labels) == order.loc["demo", "n"] + order.loc["response", "n"]
    shuffled = states[torch.randperm(len(states), generator=torch.Generator().manual_seed(0))]
    assert count_order(shuffled, labels)["spearman"].abs().max() < 0.15


def test_jump_at_T_stands_out_only_when_there_is_one():
    states, labels = synthetic([3, 5, 8], jump=10.0)
    table = jump_at_T(states, labels)
    assert table["sequence"].tolist() == [0, 1, 2] and table["n"].tolist() == [3, 5, 8]
    assert table["median_demo_step"].tolist() == pytest.approx([1, 1, 1])
    assert table["ratio"].tolist() == pytest.approx([10, 10, 10])
    states, labels = synthetic([3, 5, 8], jump=0.0)
    states[labels.index[labels["is_T"]], 0] += 1  # T moves the state as far as a demo step does
    assert jump_at_T(states, labels)["ratio"].tolist() == pytest.approx([1, 1, 1])
    # rows of labels in another order (a filtered or shuffled frame) give the same table
    order = np.random.default_rng(0).permutation(len(labels))
    again = jump_at_T(states[torch.from_numpy(order)], labels.iloc[order].reset_index(drop=True))
    pd.testing.assert_frame_equal(again, jump_at_T(states, labels))


def test_a_trained_gru_orders_its_count_along_a_top_component(quick_gru):
    model = load_run(quick_gru).model()
    task = quick_gru.task
    tokens = task.pad(task.sample(60, seed=5, counts=[n for n in range(1, 21) for _ in range(3)]))
    states, labels = state_table(model, task, tokens)
    fit = pca(states, n_components=3)
    demo = [count_order(fit.project(states), labels, c).set_index("phase").loc["demo", "spearman"] for c in range(3)]
    assert max(abs(s) for s in demo) > 0.8, (fit.explained.tolist(), demo)
    assert jump_at_T(states, labels)["ratio"].median() > 2  # seen: about 26 (3 at N = 1, 38 at N = 20)


def test_variance_share_of_the_subspace_that_holds_the_states_and_of_others():
    g = torch.Generator().manual_seed(0)
    flat = torch.randn(400, 2, generator=g) @ torch.eye(6)[:2] + 3.0  # states varying within span{e0, e1} only
    assert variance_share(flat, torch.eye(6)[:2]) == pytest.approx(1)
    assert variance_share(flat, torch.eye(6)[2:5]) == pytest.approx(0, abs=1e-12)
    assert variance_share(flat, torch.tensor([[2.0, 0, 0, 0, 0, 0], [1.0, 1.0, 0, 0, 0, 0]])) == pytest.approx(
        1
    )  # any basis
    isotropic = torch.randn(20_000, 6, generator=g)
    assert variance_share(isotropic, seeded_rotation(6, 1)[:3]) == pytest.approx(0.5, abs=0.02)  # k/S


def test_summarise_finds_the_count_component_the_jump_and_where_the_swap_moves():
    states, labels = synthetic(range(1, 21), dims=5, jump=40.0)  # phase (the jump) holds most variance: PC1; count PC2
    g = torch.Generator().manual_seed(0)
    states[:, 1] += 3 * torch.randn(len(states), generator=g)  # within a phase PC1 is noise, not the count
    states[:, 2] = 0.5 * torch.randn(len(states), generator=g)  # noise, a third component
    row = summarise(states, labels, subspace=torch.eye(5)[:1])  # a swap that moves the count axis alone
    assert row["explained_1"] > row["explained_2"] > row["explained_3"] and row["components_90"] <= 2
    assert row["count_pc"] == 2 and min(row["spearman_demo"], row["spearman_response"]) > 0.99
    assert row["jump_ratio"] > 5  # a step of 40 against demo steps of about 1 in count and the noise
    assert row["das_angle"] < 2 and 0 < row["das_variance"] < 0.5
    off = summarise(states, labels, subspace=torch.eye(5)[3:])  # a swap that moves nothing the states use
    assert off["das_angle"] == pytest.approx(90, abs=0.5) and off["das_variance"] == pytest.approx(0, abs=1e-9)
    assert "das_angle" not in summarise(states, labels)
    assert row["phase_1"] > 0.95  # PC1 is the phase (the jump) and noise
    flat, labels = synthetic(
        range(1, 21), dims=3, jump=0.0
    )  # no phase axis: PC1 is the count, spread alike in both phases
    assert summarise(flat, labels)["phase_1"] < 0.05
