"""The event reporter against a stand-in for the API (tests/api_standin.py, not the real API)."""
import time

from api_standin import StandInApi

from gpu_runner.client import ApiClient, EventReporter
from gpu_runner.protocol import RunEnv


def _wait(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _reporter(api, work_dir, **kw):
    env = RunEnv(api.url, api.run_id, api.token, str(work_dir))
    opts = dict(heartbeat_s=0.3, flush_interval_s=0.05, backoff_start_s=0.05, backoff_max_s=0.2, batch_max=7)
    opts.update(kw)
    return EventReporter(ApiClient(env, timeout_s=2.0), str(work_dir), **opts).start()


def test_events_survive_refused_connections_and_500s_and_arrive_once_in_order_on_cpu(tmp_path):
    api = StandInApi()  # not listening yet: connections are refused
    rep = _reporter(api, tmp_path)
    buffer = tmp_path / "events.buffer.jsonl"
    try:
        for i in range(25):
            rep.metric(i, {"train/loss": 1.0 / (i + 1)})
        assert _wait(lambda: buffer.exists() and len(buffer.read_text().splitlines()) == 25)
        api.mode = "fail500"
        api.start()
        for i in range(25, 40):  # training goes on while the API answers 500
            rep.progress(i, 100, 1.0)
        assert _wait(lambda: api.failed_posts >= 2)
        assert not api.stored
        api.mode = "ok"
        for i in range(40, 50):
            rep.log(f"line {i}")
        rep.status("SUCCEEDED")
        assert rep.close(timeout_s=20)
        assert api.accepted_seqs == list(range(1, 52))  # every event, once, in seq order
        types = [e["type"] for e in api.events()]
        assert types[:25] == ["METRIC"] * 25 and types[-1] == "STATUS"
        assert buffer.read_text() == ""  # all resent
    finally:
        api.stop()


def test_a_heartbeat_goes_out_when_there_is_nothing_to_say_on_cpu(tmp_path):
    api = StandInApi().start()
    rep = _reporter(api, tmp_path, heartbeat_s=0.1)
    try:
        assert _wait(lambda: api.empty_posts >= 3, timeout=5)
    finally:
        rep.close(timeout_s=5)
        api.stop()


def test_cancel_requested_in_the_answer_is_noticed_on_cpu(tmp_path):
    api = StandInApi().start()
    api.cancel = True
    rep = _reporter(api, tmp_path)
    try:
        rep.log("hello")
        assert rep.cancel_requested.wait(5)
    finally:
        rep.close(timeout_s=5)
        api.stop()


def test_rollouts_and_checkpoints_are_retried_and_delivered_before_the_final_status_on_cpu(tmp_path):
    api = StandInApi()
    rep = _reporter(api, tmp_path)
    try:
        rep.post_rollouts([{"sampleId": "S", "key": f"k{i}", "text": "", "finalAnswer": None, "correct": None,
                            "reward": None, "graderVersion": None, "tokenCount": 0} for i in range(2500)])
        rep.register_checkpoint({"name": "ck", "uri": "/x", "onnxUri": None, "baseModel": "tiny-gpt", "metadata": {}})
        time.sleep(0.3)
        api.start()
        assert rep.wait_for_requests(10)
        rep.status("SUCCEEDED")
        assert rep.close(timeout_s=10)
        assert len(api.rollouts) == 2500 and "ck" in api.checkpoints  # 3 requests of <= 1000
        log = [r for r in api.request_log if r != "POST /events"]
        assert log == ["POST /rollouts"] * 3 + ["POST /checkpoints"]
        last_rollout = max(i for i, r in enumerate(api.request_log) if r == "POST /checkpoints")
        assert api.events()[-1]["payload"] == {"status": "SUCCEEDED"}
        assert last_rollout < len(api.request_log) - 1
    finally:
        api.stop()


def test_traces_and_critiques_survive_500s_and_go_out_in_the_order_they_were_queued_on_cpu(tmp_path):
    manifest = [{"ordinal": 1, "sampleId": "S", "answer": "14"}]
    api = StandInApi(manifest=manifest)
    api.mode = "fail500"
    api.start()
    rep = _reporter(api, tmp_path)
    try:
        trace = {"sampleId": "S", "key": "bridge-o1", "kind": "BRIDGED", "parentTraceId": "T", "text": "Answer: 14",
                 "producer": "t"}
        critique = {"sampleId": "S", "key": "critique-o1", "failedTraceId": "T", "diagnosis": "d",
                    "verdict": "NO_ANSWER", "firstWrongStep": None, "repair": "Answer: 14", "solution": "Answer: 14",
                    "teacher": "t"}
        rep.post_traces([trace])
        rep.post_critiques([critique])
        rep.post_traces([dict(trace, key="bridge-o2", text="Answer: 13")])
        assert _wait(lambda: api.failed_posts >= 2)
        api.mode = "ok"
        assert rep.wait_for_requests(10)
        rep.status("SUCCEEDED")
        assert rep.close(timeout_s=10)
        log = [r for r in api.request_log if r in ("POST /traces", "POST /critiques")]
        assert log[-3:] == ["POST /traces", "POST /critiques", "POST /traces"]
        assert api.traces["bridge-o1"]["correct"] and not api.traces["bridge-o2"]["correct"]
        assert api.critiques["critique-o1"]["verified"]
        assert rep.answers == {"traces": {"inserted": 2, "existing": 0, "verified": 1, "rejected": 1},
                               "critiques": {"inserted": 1, "existing": 0, "verified": 1}}
        assert api.events()[-1]["payload"] == {"status": "SUCCEEDED"}
    finally:
        api.stop()


def test_report_events_false_keeps_only_status_events_and_seqs_stay_gapless_on_cpu(tmp_path):
    api = StandInApi().start()
    rep = _reporter(api, tmp_path, enabled=False)
    try:
        rep.status("RUNNING")
        rep.metric(1, {"train/loss": 1.0})
        rep.log("x", force=True)
        rep.status("SUCCEEDED")
        assert rep.close(timeout_s=5)
        assert [(e["seq"], e["type"]) for e in api.events()] == [(1, "STATUS"), (2, "LOG"), (3, "STATUS")]
    finally:
        api.stop()


def test_a_4xx_is_not_retried_on_cpu(tmp_path):
    api = StandInApi().start()
    rep = _reporter(api, tmp_path)
    api.token = "another-token"  # the runner's key is now refused: 401
    try:
        rep.log("x")
        assert rep.close(timeout_s=5)  # nothing left to retry
        assert any("UNAUTHENTICATED" in why for _, why in rep.dropped)
    finally:
        api.stop()
