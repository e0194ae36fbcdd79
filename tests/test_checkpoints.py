"""helpers.checkpoints and tools/train_checkpoints.py, on a tiny network trained for a few steps."""
import json
import shutil

import pytest
import torch

from helpers import checkpoints
from tools import train_checkpoints

TINY = dict(checkpoints.NETWORKS[0], name="tiny", architecture="cifar_resnet(8, 4)",
            data=dict(checkpoints.NETWORKS[0]["data"], train_subset=256, size=8))
TINY_RECIPE = dict(checkpoints.RECIPE, stages=[{"lr": 0.05, "min_epochs": 1, "max_epochs": 2}])


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    e = train_checkpoints.train_and_save(TINY, TINY_RECIPE, folder, progress=False)
    train_checkpoints.write_manifest([e], folder)
    return folder


def test_trainer_writes_a_manifest_entry_with_everything_recorded(shipped):
    e = checkpoints.entry("tiny", shipped)
    for key in ("name", "file", "sha256", "bytes", "architecture", "data", "recipe", "final_train_loss",
                "train_accuracy", "test_accuracy", "loss_per_epoch", "wall_seconds", "machine"):
        assert key in e, key
    assert e["epochs"] == len(e["loss_per_epoch"]) <= 2 and e["final_train_loss"] == e["loss_per_epoch"][-1]
    assert checkpoints.available(shipped) == ["tiny"] and (shipped / e["file"]).stat().st_size == e["bytes"]
    assert "threads" in e["machine"] and torch.__version__ in e["machine"]
    assert e["lr_per_epoch"] == [0.05] * e["epochs"] and e["converged"] == (e["epochs"] < 2 or
                                                                            abs(e["loss_per_epoch"][1] / e["loss_per_epoch"][0] - 1) < 0.02)
    assert abs(checkpoints.test_accuracy("tiny", folder=shipped) - e["test_accuracy"]) < 1e-4


def test_every_recipe_stage_ends_by_the_rule_or_its_limit():
    losses = iter([2.0, 1.0, 0.99, 0.5, 0.4, 0.398])      # epochs 3 and 6 change the loss by < 2 %
    assert checkpoints.plateaued([0.050, 0.046]) and not checkpoints.plateaued([0.5, 0.49])   # < 0.005; 2 % exactly
    seen = []

    class Fake:
        def __init__(self):
            self.final_loss = next(losses)

    recipe = dict(TINY_RECIPE, stages=[{"lr": 0.1, "min_epochs": 2, "max_epochs": 5},
                                       {"lr": 0.01, "min_epochs": 2, "max_epochs": 3}])
    import helpers.training as training
    original = training.train
    training.train = lambda *args, **kwargs: seen.append(kwargs["optimizer"].param_groups[0]["lr"]) or Fake()
    try:
        _, measured = checkpoints.train("tiny", recipe, network=TINY, device="cpu")
    finally:
        training.train = original
    assert seen == [0.1, 0.1, 0.1, 0.01, 0.01, 0.01] and measured["converged"]
    assert checkpoints.replay(measured["loss_per_epoch"], recipe) == (seen, True)
    assert checkpoints.replay([2.0, 1.0, 0.5, 0.25, 0.12], recipe) == ([0.1] * 5, False)     # ran out of epochs
    e = {"recipe": recipe, "loss_per_epoch": [2.0, 1.0, 0.5, 0.25, 0.12, 0.1, 0.099], "lr_per_epoch": [0.1] * 5 + [0.01] * 2}
    assert checkpoints.stages(e) == [(0.1, 5, "limit"), (0.01, 2, "rule")]
    assert measured["loss_per_epoch"] == [2.0, 1.0, 0.99, 0.5, 0.4, 0.398]


def test_load_returns_the_trained_network_in_eval_mode(shipped):
    from safetensors.torch import load_file

    model = checkpoints.load("tiny", shipped)
    assert not model.training
    saved = load_file(str(shipped / "tiny.safetensors"))
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())


def copy_of(shipped, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(shipped, folder)
    return folder


def test_missing_truncated_and_altered_files_are_named(shipped, tmp_path):
    folder = copy_of(shipped, tmp_path)
    path = folder / "tiny.safetensors"
    raw = path.read_bytes()
    path.write_bytes(raw[:-100])
    with pytest.raises(checkpoints.CheckpointError, match=r"'tiny'.*tiny\.safetensors.*truncated.*make checkpoints NAME=tiny"):
        checkpoints.load("tiny", folder)
    altered = bytearray(raw)
    altered[-1] ^= 0xFF
    path.write_bytes(bytes(altered))
    with pytest.raises(checkpoints.CheckpointError, match=r"'tiny'.*sha256.*altered.*make checkpoints NAME=tiny"):
        checkpoints.load("tiny", folder)
    path.unlink()
    with pytest.raises(checkpoints.CheckpointError, match=r"'tiny'.*missing.*make checkpoints NAME=tiny"):
        checkpoints.load("tiny", folder)


def test_weights_that_do_not_fit_the_architecture_are_refused(shipped, tmp_path):
    folder = copy_of(shipped, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["networks"][0]["architecture"] = "cifar_resnet(8, 6)"    # another width: shapes differ
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(checkpoints.CheckpointError, match=r"do not fit cifar_resnet\(8, 6\)"):
        checkpoints.load("tiny", folder)


def test_two_trainers_never_claim_the_same_network(tmp_path):
    assert train_checkpoints.claim("resnet56", tmp_path) and not train_checkpoints.claim("resnet56", tmp_path)
    assert train_checkpoints.claim("plain56", tmp_path)


def test_unknown_names_and_unsafe_calls_are_refused(shipped):
    with pytest.raises(ValueError, match=r"name must be one of \['tiny'\]"):
        checkpoints.load("resnet1000", shipped)
    for call in ("__import__('os').system('true')", "cifar_resnet(20, width=len('x'))", "cifar_resnet(20"):
        with pytest.raises(ValueError, match="call"):
            checkpoints.build(call)
    assert sum(p.numel() for p in checkpoints.build("cifar_resnet(8, 4, residual=False)").parameters()) > 0


def test_a_missing_manifest_says_how_to_make_it(tmp_path):
    with pytest.raises(checkpoints.CheckpointError, match="make checkpoints"):
        checkpoints.available(tmp_path)


def test_every_network_of_the_list_is_shipped_and_converged():
    shipped = checkpoints.available()
    assert shipped == checkpoints.NAMES, "checkpoints/manifest.json lists other networks than helpers.checkpoints.NETWORKS"
    total = 0
    for network in checkpoints.NETWORKS:
        e = checkpoints.entry(network["name"])
        recipe = network.get("recipe", checkpoints.RECIPE)
        assert (e["architecture"], e["data"], e["recipe"]) == (network["architecture"], network["data"], recipe)
        # the recorded learning rates are the ones the recipe's rule gives on the recorded curve, and
        # the last stage ended by the rule: "converged" is measured, not declared (a control with a
        # fixed schedule trains exactly its epochs)
        lrs, converged = checkpoints.replay(e["loss_per_epoch"], recipe)
        assert lrs == e["lr_per_epoch"] and converged == e["converged"], e["name"]
        assert e["converged"] or "recipe" in network, e["name"]
        assert e["epochs"] == len(e["loss_per_epoch"]) == len(e["lr_per_epoch"])
        total += e["bytes"]
    assert total < 25e6


@pytest.mark.parametrize("name", checkpoints.NAMES)
def test_a_shipped_network_loads_and_scores_what_its_manifest_says(name):
    # sha256 and shapes are checked by load; the accuracy is re-measured on the recorded test set
    # (under whatever CPU kernels and threads this run has: CI runs it under several).
    recorded = checkpoints.entry(name)["test_accuracy"]
    assert abs(checkpoints.test_accuracy(name) - recorded) <= 0.003
