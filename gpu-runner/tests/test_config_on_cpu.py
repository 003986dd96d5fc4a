"""Stage configs: defaults, fix-it messages naming every wrong field, the exported schema."""
import json
import os
import subprocess
import sys
from dataclasses import fields

import pytest

from gpu_runner.config import (STAGE_CONFIGS, BridgeConfig, ConfigError, CritiqueConfig, RLConfig, SFTConfig,
                               parse_config, schema)

ALL_STAGES = {"PROBE", "SFT", "RL", "EVAL", "BRIDGE", "CRITIQUE"}


def test_an_empty_config_gives_the_documented_defaults_on_cpu():
    cfg = parse_config("SFT", None)
    assert isinstance(cfg, SFTConfig) and cfg.steps == 300 and cfg.prompt_loss_weight == 0.5
    assert cfg.report_events is True and cfg.model_size == "tiny"
    rl = parse_config("RL", {"group_size": 4, "dynamic_sampling": True})
    assert isinstance(rl, RLConfig) and rl.group_size == 4 and rl.dynamic_sampling


def test_every_wrong_field_is_named_with_a_fix_on_cpu():
    with pytest.raises(ConfigError) as e:
        parse_config("SFT", {"stpes": 10, "lr": -1, "batch_size": True, "model_size": "tiy", "steps": 5.0})
    names = [name for name, _ in e.value.problems]
    assert sorted(names) == ["batch_size", "lr", "model_size", "stpes"]
    msg = str(e.value)
    assert "invalid SFT config (4 problems)" in msg
    assert "stpes: unknown field; did you mean 'steps'?" in msg
    assert "lr: must be > 0.0, got -1" in msg
    assert "batch_size: must be an integer, got true" in msg
    assert "did you mean 'tiny'?" in msg


def test_integral_floats_are_integers_and_null_only_where_allowed_on_cpu():
    assert parse_config("SFT", {"steps": 5.0, "checkpoint_name": None}).steps == 5
    with pytest.raises(ConfigError, match="steps: must not be null"):
        parse_config("SFT", {"steps": None})
    with pytest.raises(ConfigError, match="config: must be a JSON object"):
        parse_config("EVAL", [1])


def test_cross_field_rules_say_what_to_change_on_cpu():
    with pytest.raises(ConfigError, match="max_sampling_rounds: is 1 with dynamic_sampling"):
        parse_config("RL", {"dynamic_sampling": True, "max_sampling_rounds": 1})
    with pytest.raises(ConfigError, match="temperature: is 0"):
        parse_config("PROBE", {"temperature": 0})
    with pytest.raises(ConfigError, match="the runner runs PROBE, SFT, RL, EVAL, BRIDGE, CRITIQUE, not 'ROUTE'"):
        parse_config("ROUTE", {})


def test_teacher_stages_default_to_the_builtin_teacher_and_openai_needs_an_endpoint_on_cpu():
    b = parse_config("BRIDGE", None)
    assert isinstance(b, BridgeConfig) and b.teacher == "builtin" and "{trace}" in b.teacher_prompt
    c = parse_config("CRITIQUE", {"teacher": "openai", "teacher_url": "http://127.0.0.1:8000/v1",
                                  "teacher_model": "qwen", "batch_size": 10})
    assert isinstance(c, CritiqueConfig) and c.teacher_api_key_env == "OPENAI_API_KEY"
    assert "{rollout}" in c.teacher_prompt
    assert b.teacher_prompt != c.teacher_prompt
    with pytest.raises(ConfigError) as e:
        parse_config("BRIDGE", {"teacher": "openai", "teacher_model": "", "teacher_prompt": "Rewrite {problem}",
                                "teacher_api_key_env": "MY KEY", "steps": 3})
    names = [name for name, _ in e.value.problems]
    assert names == ["steps"]  # field errors first: a model-less stage has no steps
    with pytest.raises(ConfigError) as e:
        parse_config("BRIDGE", {"teacher": "openai", "teacher_model": "", "teacher_prompt": "Rewrite {problem}",
                                "teacher_api_key_env": "MY KEY"})
    msg = str(e.value)
    assert [name for name, _ in e.value.problems] == ["teacher_url", "teacher_model", "teacher_api_key_env",
                                                       "teacher_prompt"]
    assert "teacher_url: is required with teacher 'openai'" in msg
    assert "teacher_prompt: must contain {trace}" in msg
    with pytest.raises(ConfigError, match="teacher_url: must start with http:// or https://"):
        parse_config("CRITIQUE", {"teacher": "openai", "teacher_url": "ftp://x", "teacher_model": "m"})
    with pytest.raises(ConfigError, match="teacher: must be one of builtin, openai, got 'opanai'; did you mean"):
        parse_config("CRITIQUE", {"teacher": "opanai"})


def test_schema_lists_every_field_of_every_stage_on_cpu():
    s = schema()["stages"]
    assert set(s) == ALL_STAGES
    for stage, cls in STAGE_CONFIGS.items():
        assert s[stage]["additionalProperties"] is False
        assert set(s[stage]["properties"]) == {f.name for f in fields(cls)}
        for prop in s[stage]["properties"].values():
            assert prop["description"] and "default" in prop and "type" in prop
    assert s["RL"]["properties"]["loss_agg"]["enum"] == ["token-mean", "seq-mean-token-mean"]
    assert s["SFT"]["properties"]["lr"]["exclusiveMinimum"] == 0.0
    assert s["SFT"]["properties"]["checkpoint_name"]["type"] == ["string", "null"]
    assert s["BRIDGE"]["properties"]["teacher"]["enum"] == ["builtin", "openai"]
    assert s["CRITIQUE"]["properties"]["teacher_url"]["type"] == ["string", "null"]
    assert "model_size" not in s["BRIDGE"]["properties"]  # no model is loaded


def test_the_committed_schema_is_the_one_the_runner_prints_on_cpu():
    committed = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "config.schema.json")
    with open(committed) as f:
        assert json.load(f) == schema()  # regenerate: python3 -m gpu_runner.config --schema > config.schema.json


def test_schema_cli_prints_json_on_cpu():
    out = subprocess.run([sys.executable, "-m", "gpu_runner.config", "--schema"], capture_output=True, text=True,
                         check=True, cwd=__file__.rsplit("/tests/", 1)[0])
    printed = json.loads(out.stdout)
    assert set(printed["stages"]) == ALL_STAGES
    assert printed["stages"]["CRITIQUE"]["x-rules"] == ["teacher = openai requires teacher_url and teacher_model",
                                                        "teacher_prompt must contain {rollout} or {trace}"]
