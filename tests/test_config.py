import json

import pytest

from trainer.config import PRESETS, ConfigError, RunConfig, apply_preset


def test_json_round_trip(tmp_path):
    cfg = RunConfig().with_changes(train={"lr": 1e-3, "betas": (0.0, 0.99)}, data={"size": 64})
    path = tmp_path / "c.json"
    cfg.save(path)
    assert RunConfig.load(path) == cfg


@pytest.mark.parametrize("section,changes,field", [
    ("data", {"size": 48}, "size"),
    ("data", {"dataset": "imagenet"}, "dataset"),
    ("model", {"z_dim": 0}, "z_dim"),
    ("model", {"arch": "resnet"}, "arch"),
    ("train", {"lr": -1.0}, "lr"),
    ("train", {"betas": (0.5, 1.5)}, "betas"),
    ("train", {"n_critic": 0}, "n_critic"),
    ("train", {"batch_size": True}, "batch_size"),
    ("train", {"loss": "least-squares"}, "loss"),
])
def test_bad_value_names_the_field(section, changes, field):
    with pytest.raises(ConfigError, match=field):
        RunConfig().with_changes(**{section: changes})


def test_unknown_keys_are_an_error():
    d = RunConfig().to_dict()
    d["train"]["learning_rate"] = 0.1
    with pytest.raises(ConfigError, match="learning_rate"):
        RunConfig.from_dict(d)
    with pytest.raises(ConfigError, match="extra"):
        RunConfig.from_dict({**RunConfig().to_dict(), "extra": 1})


def test_bad_value_from_json_names_section():
    d = RunConfig().to_dict()
    d["model"]["width"] = 2
    with pytest.raises(ConfigError, match=r"model\.width"):
        RunConfig.from_json(json.dumps(d))
    with pytest.raises(ConfigError, match="not valid JSON"):
        RunConfig.from_json("{")


def test_folder_dataset_needs_a_path():
    with pytest.raises(ConfigError, match="path"):
        RunConfig().with_changes(data={"dataset": "folder"})


def test_presets_apply_and_are_named():
    for name in PRESETS:
        cfg = apply_preset(RunConfig(), name)
        assert cfg.train.preset == name
    assert apply_preset(RunConfig(), "reference").model.z_dim == 200
    fast = apply_preset(RunConfig(), "cpu-fast")
    assert (fast.model.width, fast.train.n_critic, fast.train.lr) == (32, 2, 2e-4)
