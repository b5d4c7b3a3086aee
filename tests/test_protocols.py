"""numvars.protocols: a named protocol is one set of settings, applied whole."""

import pytest

from numvars.grids import profile
from numvars.jobs import DasConfig
from numvars.protocols import AUTHORS_CODE, PAPER_TEXT, PROTOCOLS, get_protocol, rules_table
from numvars.store import config_hash
from numvars.tasks import Task
from numvars.training import TrainConfig


def test_paper_text_is_the_books_defaults():
    for config in profile("paper").das["main"][:14]:
        assert PAPER_TEXT.measurement_of(config) == config and PAPER_TEXT.network(config.run) == config.run
    assert PAPER_TEXT.iia_column == "test_iia"


def test_authors_code_changes_every_rule_of_its_table_and_only_those():
    count = DasConfig(TrainConfig(Task("multi"), arch="lstm"), "up_down", "count")
    theirs = AUTHORS_CODE.measurement_of(count)
    assert (theirs.positions, theirs.demo_continuation) == ("after_token", "authors")
    assert (theirs.program, theirs.variable, theirs.n_pairs, theirs.run.seed) == (
        count.program,
        count.variable,
        count.n_pairs,
        0,
    )
    assert theirs.run == AUTHORS_CODE.network(count.run) != count.run
    assert AUTHORS_CODE.iia_column == "val_iia"
    assert set(AUTHORS_CODE.rules) == set(PAPER_TEXT.rules)  # every rule read both ways
    assert list(rules_table().columns) == list(PROTOCOLS) and len(rules_table()) == len(PAPER_TEXT.rules)


def test_an_unknown_protocol_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown protocol 'mine'.*\['paper_text', 'authors_code'\]"):
        get_protocol("mine")


def test_the_authors_code_grid_is_the_main_grid_and_the_gru_sizes_under_every_rule():
    from numvars.results import protocol_of

    paper = profile("paper")
    main, sizes = paper.training["authors_code"], paper.training["authors_code_sizes"]
    assert {AUTHORS_CODE.network(c) for c in paper.training["main"]} == set(main) and len(main) == 54
    assert sorted({c.d for c in sizes}) == [8, 16, 32, 48, 96] and len(sizes) == 5 * 6  # d = 20 is main's
    networks, measurements = main + sizes, paper.das["authors_code"] + paper.das["authors_code_sizes"]
    assert {c.run for c in paper.das["authors_code"]} == set(main)
    assert {c.run for c in measurements} == set(networks)
    assert all(protocol_of(c) == "authors_code" for c in measurements)
    lstm = next(c for c in networks if c.arch == "lstm")
    assert (lstm.lstm_units, lstm.response_inputs, lstm.lr, lstm.lr_decay, lstm.max_epochs, lstm.kernel) == (
        "half",
        "free",
        5e-4,
        0.25,
        1_500,
        "packed",  # new networks, trained by the fast kernel (not a rule: AUTHORS_CODE.changes omits it)
    )
    assert next(c for c in networks if c.arch == "transformer").dropout_sites == "all"
    assert all(c.positions == "after_token" and c.demo_continuation == "authors" for c in measurements)
    assert AUTHORS_CODE.changes("gru") == dict(
        lr=5e-4,
        lr_decay=0.25,
        response_inputs="free",
        positions="after_token",
        demo_continuation="authors",
        das_lr=1e-3,  # the alignment's learning rate: a rule of its own, beside the network's
        das_batch_size=128,
        stop="val_loss_plateau",
        loss_tokens="sequence",
    )
    assert all(c.protocol_changes() == AUTHORS_CODE.changes(c.run.arch) for c in measurements)


def test_the_das_rules_and_the_training_rules_of_one_name_are_two_causes():
    from numvars.grids import CAUSES
    from numvars.results import protocol_of

    measured = {protocol_of(c) for c in profile("paper").das["causes"]}
    assert {"authors' DAS fit", "authors' DAS loss", "authors' learning rate"} <= measured
    # the network's learning rate and the alignment's are different rules with different names
    assert CAUSES["authors' learning rate"].changes == dict(lr=5e-4, lr_decay=0.25)
    assert CAUSES["authors' DAS fit"].changes == dict(das_lr=1e-3, das_batch_size=128, stop="val_loss_plateau")
    fit = DasConfig(TrainConfig(task=Task("multi")), lr=1e-3, batch_size=128, stop="val_loss_plateau")
    assert protocol_of(fit) == "authors' DAS fit"
    with pytest.raises(ValueError, match="unknown DAS stopping rule 'never'"):
        DasConfig(TrainConfig(task=Task("multi")), stop="never")
    run = TrainConfig(task=Task("multi"))  # the defaults keep every stored measurement's key
    assert config_hash(DasConfig(run, stop="best_val_iia", loss_tokens="scored")) == config_hash(DasConfig(run))
