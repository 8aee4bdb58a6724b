"""The one config mechanism (clipmg_lib.core.config): strict typed loading, one comment key, dotted overrides,
used by every config kind, the train CLI's ``--set`` and the chain's ``-p``."""
from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import pytest

from clipmg_lib.runs import chain
from clipmg_lib.core import config as C
from clipmg_lib.core.config import ConfigError
from clipmg_lib.core.paths import config_dir
from clipmg_lib.model.factory import get_model_config, list_ablations, list_models
from clipmg_lib.spotting.config import SpotterConfig, available_spotter_configs, load_spotter_config
from clipmg_lib.runs.train import build_parser as train_parser
from clipmg_lib.runs.train import main as train_main
from clipmg_lib.train.config import TrainConfig, available_train_configs, load_train_config


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Inner:
    size: int = 3
    scale: float = 1.0
    mode: Literal["a", "b"] = "a"


@dataclass
class Item:
    name: str
    weight: float = 1.0


@dataclass
class Toy:
    description: str = ""
    count: int = 1
    ratio: float = 0.5
    flag: bool = False
    label: str = "x"
    colour: Colour = Colour.RED
    sizes: tuple[int, ...] = (1, 2)
    pair: tuple[int, str] = (0, "a")
    names: list[str] = field(default_factory=list)
    maybe: Optional[int] = None
    either: int | None = 4
    inner: Inner = field(default_factory=Inner)
    items: dict[str, Item] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _write(tmp_path, data, name="toy.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# ------------------------------------------------------------------------------------------- every kind loads
def test_every_packaged_config_loads_with_the_one_loader():
    for name in list_models():
        cfg = get_model_config(name)
        assert cfg.num_classes == 32
    assert set(list_ablations()) >= {"rgb_only", "zero_shot"}
    for name in available_train_configs():
        tc = load_train_config(name)
        assert isinstance(tc, TrainConfig) and tc.description
    for name in available_spotter_configs():
        sc = load_spotter_config(name)
        assert isinstance(sc, SpotterConfig) and sc.description
        assert isinstance(sc.train(), TrainConfig)
    from clipmg_lib.model.text import class_prompts
    assert len(class_prompts()) == 32


def test_every_config_file_comments_with_description_only():
    for kind in ("model", "train", "spotting", "ablation", "prompts"):
        for path in config_dir(kind).glob("*.json"):
            data = json.loads(path.read_text())
            assert isinstance(data.get(C.COMMENT_KEY), str) and data[C.COMMENT_KEY], path
            assert not [k for k in data if k.startswith("_") or k == "about"], path
            assert "__" not in path.read_text(), f"{path}: old section__field syntax"


def test_dotted_model_overrides_in_packaged_configs_resolve():
    tc = load_train_config("tiny_demo")
    assert tc.model_overrides == {"inputs.heatmap.size": 32}
    model = get_model_config(tc.model, **tc.model_overrides)
    base = get_model_config(tc.model)
    assert model.inputs.heatmap.size == 32 and model.inputs.heatmap.sigma == base.inputs.heatmap.sigma
    paper = load_spotter_config("paper_vitb16").train()
    assert get_model_config(paper.model, **paper.model_overrides).backbone.token_grid == 7


# ------------------------------------------------------------------------------------------- strict loading
def test_loader_checks_and_normalises_every_annotation(tmp_path):
    path = _write(tmp_path, {"description": "a toy", "count": 5.0, "ratio": 2, "flag": True, "colour": "blue",
                             "sizes": [3, 4], "pair": [1, "b"], "names": ["p"], "maybe": None, "either": 7,
                             "inner": {"mode": "b"}, "items": {"k": {"name": "n"}}, "extra": {"a": [1]}})
    toy = C.from_dict(Toy, C.read_json(path), str(path))
    assert toy.count == 5 and isinstance(toy.count, int)
    assert toy.ratio == 2.0 and isinstance(toy.ratio, float)
    assert toy.colour is Colour.BLUE and toy.sizes == (3, 4) and toy.pair == (1, "b") and toy.names == ["p"]
    assert toy.inner == Inner(mode="b") and toy.items == {"k": Item("n")} and toy.extra == {"a": [1]}
    assert C.to_dict(toy)["colour"] == "blue" and C.to_dict(toy)["sizes"] == [3, 4]
    assert C.from_dict(Toy, C.to_dict(toy)) == toy


@pytest.mark.parametrize("data, message", [
    ({"count": "x"}, "Toy.count must be an integer, got 'x' (str)"),
    ({"count": 2.7}, "Toy.count must be an integer, got 2.7 (float)"),
    ({"count": True}, "Toy.count must be an integer, got True (bool)"),
    ({"ratio": "high"}, "Toy.ratio must be a number, got 'high' (str)"),
    ({"ratio": float("nan")}, "Toy.ratio must be a number, got nan (float)"),
    ({"flag": 1}, "Toy.flag must be true or false, got 1 (int)"),
    ({"label": 3}, "Toy.label must be a string, got 3 (int)"),
    ({"colour": "green"}, "Toy.colour must be one of ('red', 'blue'), got 'green' (str)"),
    ({"sizes": [1, "2"]}, "Toy.sizes[1] must be an integer, got '2' (str)"),
    ({"sizes": 3}, "Toy.sizes must be a list of integers, got 3 (int)"),
    ({"pair": [1]}, "Toy.pair must be a list of 2 items, got [1]"),
    ({"names": "p"}, "Toy.names must be a list of strings, got 'p' (str)"),
    ({"maybe": "x"}, "Toy.maybe must be an integer or null, got 'x' (str)"),
    ({"either": 1.5}, "Toy.either must be an integer or null, got 1.5 (float)"),
    ({"inner": {"mode": "c"}}, "Toy.inner.mode must be one of ('a', 'b'), got 'c' (str)"),
    ({"inner": 3}, "Toy.inner must be a JSON object, got 3 (int)"),
    ({"items": {"k": {"name": "n", "weight": "w"}}}, "Toy.items.k.weight must be a number, got 'w' (str)"),
    ({"items": {"k": {}}}, "Toy.items.k: "),
    ({"extra": [1]}, "Toy.extra must be a JSON object, got [1] (list)"),
])
def test_a_wrong_type_names_the_file_and_the_dotted_field(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as err:
        C.from_dict(Toy, C.read_json(path), str(path))
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_an_unknown_key_names_the_file_the_field_and_the_known_fields(tmp_path):
    path = _write(tmp_path, {"inner": {"sise": 3}})
    with pytest.raises(ConfigError) as err:
        C.from_dict(Toy, C.read_json(path), str(path))
    assert str(err.value) == (f"{path}: unknown field(s) ['Toy.inner.sise']; "
                              "known fields of Toy.inner: ['mode', 'scale', 'size']")
    path = _write(tmp_path, {"_comment": "old style"}, "old.json")
    with pytest.raises(ConfigError, match=r"old.json: unknown field\(s\) \['Toy._comment'\]"):
        C.from_dict(Toy, C.read_json(path), str(path))


def test_unreadable_files_and_unknown_names(tmp_path):
    with pytest.raises(ConfigError, match="nothing.json: config file not found"):
        C.read_json(tmp_path / "nothing.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(ConfigError, match="list.json: a config must be a JSON object, got list"):
        C.read_json(tmp_path / "list.json")
    with pytest.raises(ConfigError, match=r"unknown spotting config 'tiny'; available: \['paper_vitb16', 'tiny_demo'\]"):
        load_spotter_config("tiny")


def test_every_kind_refuses_unknown_keys_and_bad_types_naming_its_file(tmp_path):
    train = json.loads((config_dir("train") / "tiny_demo.json").read_text())
    path = _write(tmp_path, {**train, "epochz": 3}, "train.json")
    with pytest.raises(ConfigError, match=r"train.json: unknown field\(s\) \['TrainConfig.epochz'\]; known fields"):
        load_train_config(path)
    path = _write(tmp_path, {**train, "amp": "fp8"}, "train2.json")
    with pytest.raises(ConfigError, match=r"train2.json: TrainConfig.amp must be one of \('auto', 'bf16', 'fp16', 'off'\)"):
        load_train_config(path)
    spot = json.loads((config_dir("spotting") / "tiny_demo.json").read_text())
    path = _write(tmp_path, {**spot, "window_lengths": [16, "long"]}, "spot.json")
    with pytest.raises(ConfigError, match=r"spot.json: SpotterConfig.window_lengths\[1\] must be an integer"):
        load_spotter_config(path)
    model = json.loads((config_dir("model") / "clipmg_tiny.json").read_text())
    path = _write(tmp_path, {**model, "pose": {**model["pose"], "stem_channels": "16"}}, "model.json")
    with pytest.raises(ConfigError, match=r"model.json: ModelConfig.pose.stem_channels must be an integer, got '16'"):
        get_model_config(path)


# ------------------------------------------------------------------------------------------- overrides
@pytest.mark.parametrize("text, expected", [
    ("epochs=3", ("epochs", 3)),
    ("lr=3e-4", ("lr", 3e-4)),
    ("pose.height=32", ("pose.height", 32)),
    ("model_overrides.inputs.heatmap.size=32", ("model_overrides.inputs.heatmap.size", 32)),
    ("flag=true", ("flag", True)),
    ("flag=True", ("flag", True)),
    ("root=null", ("root", None)),
    ("root=None", ("root", None)),
    ("device=cuda:1", ("device", "cuda:1")),
    ("path=/data/a=b.pt", ("path", "/data/a=b.pt")),
    ("ids=[1, 2]", ("ids", [1, 2])),
    ('m={"ablation": "rgb_only"}', ("m", {"ablation": "rgb_only"})),
    ('name="3"', ("name", "3")),
    ("empty=", ("empty", "")),
])
def test_parse_override_reads_json_else_string(text, expected):
    assert C.parse_override(text) == expected


@pytest.mark.parametrize("text", ["epochs", "=3", "a..b=1", "pose__height.=1", "1x=2", "a b=1"])
def test_parse_override_refuses_malformed_items(text):
    with pytest.raises(ConfigError, match="expected section.field=value"):
        C.parse_override(text)


def test_overrides_follow_the_schema_and_are_type_checked():
    data = C.apply_overrides(Toy, {"inner": {"size": 5}}, {"inner.scale": 2, "count": 3, "extra.a.b": 1,
                                                            "items": {"k": {"name": "n"}}})
    toy = C.from_dict(Toy, data)
    assert toy.inner == Inner(size=5, scale=2.0) and toy.count == 3 and toy.extra == {"a.b": 1}
    merged = C.from_dict(Toy, C.apply_overrides(Toy, data, {"inner": {"mode": "b"}}))
    assert merged.inner == Inner(size=5, scale=2.0, mode="b")  # a section given as an object is merged
    with pytest.raises(ConfigError, match=r"override 'inner.sise': unknown field\(s\) \['Toy.inner.sise'\]; "
                                          r"known fields of Toy.inner: \['mode', 'scale', 'size'\]"):
        C.apply_overrides(Toy, {}, {"inner.sise": 1})
    with pytest.raises(ConfigError, match="override 'count.x': Toy.count is an integer, not a section"):
        C.apply_overrides(Toy, {}, {"count.x": 1})
    with pytest.raises(ConfigError, match=r"Toy.inner.size must be an integer, got 'x' \(str\)"):
        C.replace_config(Toy(), {"inner.size": "x"})


def test_a_bad_override_of_each_kind_names_the_field():
    with pytest.raises(ConfigError, match=r"tiny_demo.json with overrides: TrainConfig.epochs must be an integer, got 'x'"):
        load_train_config("tiny_demo", **{"epochs": "x"})
    with pytest.raises(ConfigError, match=r"TrainConfig.model_overrides: .*ModelConfig.inputs.heatmap.size must be an integer"):
        load_train_config("tiny_demo", {"model_overrides.inputs.heatmap.size": "tall"})
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['ModelConfig.pose.hieght'\]"):
        load_train_config("tiny_demo", {"model_overrides.pose.hieght": 3})
    with pytest.raises(ConfigError, match=r"nested fields are written section.field"):
        get_model_config("clipmg_tiny", pose__height=32)
    with pytest.raises(ConfigError, match=r"SpotterConfig.min_score must be a number, got 'high'"):
        load_spotter_config("tiny_demo", min_score="high")
    cfg = load_train_config("tiny_demo", {"model_overrides.inputs.heatmap.sigma": 1.0, "proxy_root": None}, epochs=2, seed=None)
    assert cfg.model_overrides == {"inputs.heatmap.size": 32, "inputs.heatmap.sigma": 1.0} and cfg.epochs == 2
    assert cfg.seed == 0
    assert load_spotter_config("tiny_demo", {"train_overrides.epochs": 1}).train().epochs == 1


# ------------------------------------------------------------------------------------------- CLI and chain
ITEMS = ["epochs=3", "lr=3e-4", "model_overrides.inputs.heatmap.size=32", "proxy_root=null", 'model_overrides={"a": 1}',
         "device=cuda:0"]


def test_train_set_and_chain_p_use_the_same_parser():
    via_train = train_parser().parse_args([a for i in ITEMS for a in ("--set", i)]).set
    via_chain = chain.build_parser().parse_args([a for i in ITEMS for a in ("-p", i)]).param
    assert via_train == via_chain == [C.parse_override(i) for i in ITEMS]
    for parse, flag in ((train_parser, "--set"), (chain.build_parser, "-p")):
        with pytest.raises(SystemExit):
            parse().parse_args([flag, "no_equals_sign"])


def test_chain_gathers_dotted_parameters_into_override_dicts():
    params = chain.chain_parameters([("epochs", 3), ("train.lr", 3e-4), ("train.model_overrides.inputs.heatmap.size", 32),
                                     ("model.hidden_dim", 128), ("spotting.min_score", 0.4)])
    assert params == {"epochs": 3, "train_overrides": {"lr": 3e-4, "model_overrides.inputs.heatmap.size": 32},
                      "model_overrides": {"hidden_dim": 128}, "spotter_overrides": {"min_score": 0.4}}
    chain.check_config_overrides(params)
    with pytest.raises(ConfigError, match="starts with one of"):
        chain.chain_parameters([("trian.lr", 1)])


def test_chain_refuses_a_bad_config_override_before_any_notebook(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    args = ["--dataset-root", str(tmp_path / "data"), "--results", str(tmp_path / "results"), "--only", "99"]
    assert chain.main(args + ["-p", "train.epochs=x"]) == 2
    assert "TrainConfig.epochs must be an integer, got 'x' (str)" in capsys.readouterr().err
    assert chain.main(args + ["-p", "model.pose.hieght=3"]) == 2
    assert "unknown field(s) ['ModelConfig.pose.hieght']" in capsys.readouterr().err
    assert not (tmp_path / "results" / "notebooks").exists()


def test_train_cli_refuses_a_bad_model_override_before_any_work(tmp_path, capsys):
    out = tmp_path / "run"
    assert train_main(["--out", str(out), "--set", "model_overrides.pose.hieght=3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown field(s) ['ModelConfig.pose.hieght']" in err
    assert not out.exists()


@pytest.mark.slow
def test_chain_delivers_train_overrides_to_a_notebook(tmp_path):
    import nbformat

    src = tmp_path / "nbs"
    src.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("dataset_root = None\nresults_dir = None\ntrain_overrides = {}")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from pathlib import Path\nfrom clipmg_lib.train.config import load_train_config\n"
        "cfg = load_train_config('tiny_demo', train_overrides)\n"
        "Path(results_dir, 'seen').write_text(f'{cfg.lr} {cfg.model_overrides}')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, src / "01_train.ipynb")
    (tmp_path / "data").mkdir()
    extra = chain.chain_parameters([C.parse_override("train.lr=0.0003"),
                                    C.parse_override("train.model_overrides.inputs.heatmap.size=24")])
    table = chain.run_chain(tmp_path / "data", tmp_path / "results", extra=extra, notebooks_dir=src, cell_timeout=300)
    assert table["status"].iloc[-1] == "ok"
    assert (tmp_path / "results" / "seen").read_text() == "0.0003 {'inputs.heatmap.size': 24}"
