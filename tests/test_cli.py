import subprocess
import sys

import pytest

from pipeline.anomaly.config import ImportConfig, LayoutConfig
from pipeline.cli import cli
from pipeline.curate.config import CurateRules
from pipeline.download.config import DownloadConfig, FetchConfig
from pipeline.export.config import ExportConfig
from pipeline.label.config import LabelConfig
from pipeline.postfilter import PostfilterConfig
from tests.helpers import raw, run_cli, write_json


def test_bad_input_is_one_line_and_exit_2_without_traceback(tmp_path):
    source = write_json(
        tmp_path / "raw.json", [raw("u", "x", "y"), {"url": "u2", "web": {"label": None, "data": []}}]
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "prefilter",
            "-i",
            str(source),
            "-o",
            str(tmp_path / "o.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {source}: record 2: web.label: Input should be a valid string"
    )
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o.json").exists()


def test_missing_input_file(tmp_path):
    result = run_cli("postfilter", "-i", tmp_path / "nope.json", "-o", tmp_path / "o.json")
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'nope.json'}: no such file\n"


def test_validate_counts_and_guesses_the_kind(tmp_path):
    source = write_json(tmp_path / "raw.json", [raw("u", "x", "y"), {"url": "u"}, raw("v", "x", "y")])
    result = run_cli("validate", source)
    assert result.exit_code == 1
    assert "3 raw records, 2 valid, 1 invalid (web 1)" in result.output
    assert "record 2: web: Field required" in result.stderr
    assert run_cli("validate", source, "--as", "dataset").exit_code == 1


@pytest.mark.parametrize(
    ("command", "required", "models"),
    [
        ("label", ["-i", "in.json", "-o", "out.json"], [LabelConfig]),
        ("run", ["shop", "--workdir", "w"], [LabelConfig, PostfilterConfig, DownloadConfig]),
        ("download", ["--dataset", "d.json", "--folder", "images"], [DownloadConfig, FetchConfig]),
        ("postfilter", ["-i", "in.json", "-o", "out.json"], [PostfilterConfig]),
        ("curate", ["--dataset", "d.json", "--images", "i", "-o", "o.json"], [CurateRules]),
        ("export", ["hf", "--dataset", "d.json", "--out", "o"], [ExportConfig]),
        ("import", ["mvtec", "root", "-o", "d.json", "--images", "i"], [ImportConfig]),
        ("mvtec-layout", ["visa", "root", "--out", "o"], [LayoutConfig]),
    ],
)
def test_flag_defaults_are_the_config_models_defaults(command, required, models):
    fields = {name: field for model in models for name, field in model.model_fields.items()}
    passed = cli.commands[command].make_context(command, required, resilient_parsing=True).params
    shared = [name for name in passed if name in fields and not fields[name].is_required()]
    assert shared  # the command's flags do reach its models
    for name in shared:
        assert passed[name] == fields[name].default, f"ilid {command} --{name}"


def test_label_has_a_flag_for_every_setting_of_its_model():
    options = {param.name for param in cli.commands["label"].params}
    assert set(LabelConfig.model_fields) <= options
