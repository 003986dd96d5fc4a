"""`python3 -m gpu_runner` end to end, as a launcher starts it, against the stand-in API
(tests/api_standin.py; the real API's side of the protocol is tested in TypeScript)."""
import os
import signal
import subprocess
import sys
import time

from api_standin import StandInApi
from test_stages_on_cpu import _items

RUNNER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _spec(stage, config, items, checkpoint=None):
    return {"run": {"id": "UnVuOjE", "stage": stage, "attempt": 1, "config": config},
            "inputCheckpoint": checkpoint,
            "manifest": {"id": "TWFuaWZlc3Q6MQ", "purpose": stage, "itemCount": len(items), "sha256": "0" * 64}}


def _launch(api, work_dir, **extra_env):
    env = dict(os.environ, **api.env(str(work_dir)), OPENBLAS_NUM_THREADS="1", **extra_env)
    return subprocess.Popen([sys.executable, "-m", "gpu_runner"], cwd=RUNNER_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(cond, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def _statuses(api):
    return [e["payload"] for e in api.events() if e["type"] == "STATUS"]


def test_an_sft_run_reports_running_then_succeeded_and_registers_its_checkpoint_on_cpu(tmp_path):
    items = _items(12, True)
    cfg = {"steps": 3, "batch_size": 4, "log_every": 1, "warmup_steps": 1}
    api = StandInApi(spec=_spec("SFT", cfg, items), manifest=items).start()
    try:
        proc = _launch(api, tmp_path)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        events = api.events()
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["payload"] == {"status": "RUNNING"}
        assert events[-1]["payload"] == {"status": "SUCCEEDED"}
        assert [p["step"] for p in (e["payload"] for e in events) if "train/loss" in p] == [1, 2, 3]
        (ck,) = api.checkpoints.values()
        assert ck["name"] == "sft-UnVuOjE-step-3" and ck["onnxUri"].endswith("model.onnx")
        assert os.path.isdir(ck["uri"])
    finally:
        api.stop()


def test_a_bad_config_fails_the_run_with_a_message_naming_the_field_on_cpu(tmp_path):
    items = _items(2, True)
    api = StandInApi(spec=_spec("SFT", {"stesp": 3, "lr": "fast"}, items), manifest=items).start()
    try:
        proc = _launch(api, tmp_path)
        proc.communicate(timeout=60)
        assert proc.returncode == 2
        first, last = _statuses(api)
        assert first == {"status": "RUNNING"} and last["status"] == "FAILED"
        assert "stesp: unknown field; did you mean 'steps'?" in last["message"]
        assert "lr: must be a number" in last["message"]
    finally:
        api.stop()


def test_an_unexpected_error_sends_the_traceback_then_failed_and_exits_non_zero_on_cpu(tmp_path):
    items = _items(2, False)
    ck = {"id": "Q2hlY2twb2ludDox", "name": "gone", "baseModel": "tiny-gpt", "uri": str(tmp_path / "nowhere")}
    api = StandInApi(spec=_spec("EVAL", {}, items, ck), manifest=items).start()
    try:
        proc = _launch(api, tmp_path)
        proc.communicate(timeout=60)
        assert proc.returncode == 1
        logs = [e["payload"]["line"] for e in api.events() if e["type"] == "LOG"]
        assert any(line.startswith("Traceback") for line in logs)
        last = _statuses(api)[-1]
        assert last["status"] == "FAILED" and "is not a directory on this machine" in last["message"]
    finally:
        api.stop()


def test_sigterm_stops_at_a_step_boundary_flushes_and_exits_zero_without_a_final_status_on_cpu(tmp_path):
    items = _items(8, True)
    cfg = {"steps": 100000, "batch_size": 2, "log_every": 1}
    api = StandInApi(spec=_spec("SFT", cfg, items), manifest=items).start()
    try:
        proc = _launch(api, tmp_path)
        assert _wait_for(lambda: any("train/loss" in e["payload"] for e in api.events()))
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        assert proc.returncode == 0
        assert _statuses(api) == [{"status": "RUNNING"}]
        assert "cancelled" in [e for e in api.events() if e["type"] == "LOG"][-1]["payload"]["line"]
        assert api.checkpoints == {}
    finally:
        api.stop()


def test_cancel_requested_by_the_api_ends_the_run_like_sigterm_on_cpu(tmp_path):
    items = _items(4, False)
    cfg = {"steps": 100000, "prompts_per_step": 2, "group_size": 2, "max_new_tokens": 4, "log_every": 1}
    api = StandInApi(spec=_spec("RL", cfg, items), manifest=items).start()
    try:
        proc = _launch(api, tmp_path)
        assert _wait_for(lambda: any(e["type"] == "METRIC" for e in api.events()))
        api.cancel = True
        proc.communicate(timeout=60)
        assert proc.returncode == 0 and _statuses(api) == [{"status": "RUNNING"}]
    finally:
        api.stop()


def test_the_runner_waits_for_an_api_that_is_not_up_yet_on_cpu(tmp_path):
    items = _items(3, False)
    api = StandInApi(spec=_spec("PROBE", {"k": 2, "max_new_tokens": 4}, items), manifest=items)
    proc = _launch(api, tmp_path)  # nothing listens yet: connections are refused
    try:
        time.sleep(1.5)
        api.start()
        proc.communicate(timeout=60)
        assert proc.returncode == 0
        assert len(api.rollouts) == 6 and _statuses(api)[-1] == {"status": "SUCCEEDED"}
    finally:
        api.stop()
