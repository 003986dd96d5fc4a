"""BRIDGE and CRITIQUE: teachers write, the runner grades and posts, no model is loaded.

End to end through `python3 -m gpu_runner` against the stand-in API (tests/api_standin.py) and,
for the openai teacher, a stand-in chat-completions endpoint (tests/teacher_standin.py); the
stages alone on a recording client.
"""
import json

import pytest
from api_standin import StandInApi
from teacher_standin import StandInTeacher
from test_main_on_cpu import _launch, _spec, _statuses
from test_stages_on_cpu import _ctx, _metrics

from gpu_runner.client import ApiClient, EventReporter
from gpu_runner.protocol import RunEnv
from gpu_runner.stages import bridge, critique
from gpu_runner.tasks import arithmetic as A
from gpu_runner.teachers.critique import BuiltinCritiqueTeacher

JUNK = "Write a poem about the sea."


def _item(i, p, text, kind, problem=None):
    return {"ordinal": i + 1, "sampleId": f"S{i}", "externalId": p.external_id, "problem": problem or p.text,
            "answer": str(p.answer), "trace": {"id": f"T{i}", "kind": kind, "text": text}}


def _bridge_items(n, junk_at=()):
    problems = A.generate(n, seed=7)
    return [_item(i, p, A.raw_trace(p), "TEACHER", JUNK if i in junk_at else None) for i, p in enumerate(problems)]


def _break_step(p, k):
    """The explicit trace of p with step k's result off by 3 (and the answer that follows)."""
    steps = A.explicit_trace(p).split(" Answer:")[0].split(" ")
    a, result = steps[k - 1].rstrip(".").split("=")
    return " ".join(steps[:k - 1] + [f"{a}={int(result) + 3}."] + steps[k:]) + f" Answer: {p.answer + 3}"


def _critique_items():
    """Failed rollouts with a known first mistake: (items, {key: (verdict, firstWrongStep)})."""
    problems = A.generate(40, seed=3, levels=(3,))
    cases = [(_break_step(problems[0], 1), "WRONG_STEP", 1), (_break_step(problems[1], 2), "WRONG_STEP", 2),
             (_break_step(problems[2], 3), "WRONG_STEP", 3),
             (A.explicit_trace(problems[3]).replace(f"Answer: {problems[3].answer}", "Answer: 1000"),
              "WRONG_FINAL_ANSWER", None),
             (A.explicit_trace(problems[4]).split(" Answer:")[0], "NO_ANSWER", None),
             (A.explicit_trace(problems[5]), "CORRECT", None)]
    items = [_item(i, problems[i], text, "ROLLOUT") for i, (text, _, _) in enumerate(cases)]
    return items, {f"critique-o{i + 1}": (v, k) for i, (_, v, k) in enumerate(cases)}


def _final_metric(api, prefix):
    return [e["payload"] for e in api.events() if e["type"] == "METRIC" and any(k.startswith(prefix)
                                                                                 for k in e["payload"])][-1]


def _run(api, tmp_path, **env):
    proc = _launch(api, tmp_path, **env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


def test_a_bridge_run_posts_one_bridged_trace_per_rewrite_before_it_succeeds_on_cpu(tmp_path):
    items = _bridge_items(9, junk_at={4})
    missing = {"id": "Q2hlY2twb2ludDox", "name": "student", "baseModel": "tiny-gpt", "uri": str(tmp_path / "gone")}
    api = StandInApi(spec=_spec("BRIDGE", {"batch_size": 4}, items, missing), manifest=items).start()
    try:
        _run(api, tmp_path)  # the checkpoint does not exist: BRIDGE loads no model
        assert sorted(api.traces) == sorted(f"bridge-o{o}" for o in range(1, 10) if o != 5)
        t = api.traces["bridge-o1"]
        p = A.generate(9, seed=7)[0]
        assert t == {"sampleId": "S0", "key": "bridge-o1", "kind": "BRIDGED", "parentTraceId": "T0",
                     "text": A.explicit_trace(p), "producer": "builtin-rewrite", "correct": True}
        assert all(t["correct"] for t in api.traces.values())
        assert api.post_sizes["traces"] == [4, 3, 1]  # one request per batch (ordinal 5 was refused)
        events = api.events()
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert _statuses(api)[-1] == {"status": "SUCCEEDED"}
        log = api.request_log
        assert max(i for i, r in enumerate(log) if r == "POST /traces") < max(
            i for i, r in enumerate(log) if r == "POST /events")
        per_batch = [e["payload"] for e in events if e["type"] == "METRIC" and "time/total" not in e["payload"]]
        assert [m["step"] for m in per_batch] == [4, 8, 9]
        assert per_batch[-1] == {"bridge/rewritten": 8, "bridge/verified": 8, "bridge/rejected": 0,
                                 "bridge/teacher_failures": 1, "step": 9}
        assert [e["payload"]["step"] for e in events if e["type"] == "PROGRESS"] == [4, 8, 9]
        lines = [e["payload"]["line"] for e in events if e["type"] == "LOG"]
        assert any(line.startswith("o5 (") and "refused" in line for line in lines)
        assert "POST /traces: the API answered inserted 8, existing 0, verified 8, rejected 0" in lines
        assert not any("parameters" in line for line in lines)
    finally:
        api.stop()


def test_a_critique_run_posts_the_builtin_teachers_verdicts_and_verified_repairs_on_cpu(tmp_path):
    items, expected = _critique_items()
    api = StandInApi(spec=_spec("CRITIQUE", {"batch_size": 4}, items), manifest=items).start()
    try:
        _run(api, tmp_path)
        assert {k: (c["verdict"], c["firstWrongStep"]) for k, c in api.critiques.items()} == expected
        c = api.critiques["critique-o2"]
        assert set(c) == {"sampleId", "key", "failedTraceId", "diagnosis", "verdict", "firstWrongStep", "repair",
                          "solution", "teacher", "verified"}
        assert (c["sampleId"], c["failedTraceId"], c["teacher"]) == ("S1", "T1", "builtin-critique")
        assert c["diagnosis"].startswith("Step 2 says")
        assert all(c["verified"] for c in api.critiques.values())
        assert api.post_sizes["critiques"] == [4, 2]
        m = _final_metric(api, "critique/")
        assert {k: v for k, v in m.items() if k.startswith("critique/")} == {
            "critique/harvested": 6, "critique/written": 6, "critique/verified": 6, "critique/teacher_failures": 0}
        assert _statuses(api)[-1] == {"status": "SUCCEEDED"}
    finally:
        api.stop()


def _critique_reply(prompt):
    """What the stand-in teacher 'writes': the built-in teacher's critique of the prompt's rollout,
    as the JSON the default prompt asks for, in a fenced block."""
    problem = prompt.split("Problem:\n")[1].split("\n\n")[0]
    answer = prompt.split("The correct final answer is ")[1].split(".\n")[0]
    rollout = prompt.split("The student's attempt:\n")[1].split("\n\nFind the FIRST")[0]
    c = BuiltinCritiqueTeacher().critique(problem, answer, rollout)
    body = {"diagnosis": c.diagnosis, "verdict": c.verdict, "first_wrong_step": c.first_wrong_step,
            "repair": c.repair, "solution": c.solution}
    return "```json\n" + json.dumps(body) + "\n```"


def test_a_critique_run_with_an_openai_teacher_counts_a_reply_that_does_not_parse_on_cpu(tmp_path):
    items, expected = _critique_items()
    teacher = StandInTeacher(reply=_critique_reply).start()
    teacher.then(500, {"error": {"message": "busy"}})  # retried
    teacher.then(200, "I think the student did fine!")  # not JSON: one teacher failure
    cfg = {"teacher": "openai", "teacher_url": teacher.url, "teacher_model": "stand-in-72b",
           "teacher_api_key_env": "STAGEWISE_TEST_TEACHER_KEY", "teacher_concurrency": 3}
    api = StandInApi(spec=_spec("CRITIQUE", cfg, items), manifest=items).start()
    try:
        _run(api, tmp_path, STAGEWISE_TEST_TEACHER_KEY="sk-teacher-test")
        assert len(teacher.requests) == 7 and {r["authorization"] for r in teacher.requests} == {
            "Bearer sk-teacher-test"}
        assert len(api.critiques) == 5
        for key, c in api.critiques.items():
            assert (c["verdict"], c["firstWrongStep"]) == expected[key] and c["teacher"] == "stand-in-72b"
        m = _final_metric(api, "critique/")
        assert (m["critique/written"], m["critique/verified"], m["critique/teacher_failures"]) == (5, 5, 1)
        lines = [e["payload"]["line"] for e in api.events() if e["type"] == "LOG"]
        assert any("no critique: the critique is not a JSON object" in line for line in lines)
    finally:
        api.stop()
        teacher.stop()


def test_a_refused_teacher_key_fails_the_run_with_a_clear_message_on_cpu(tmp_path):
    items = _bridge_items(3)
    teacher = StandInTeacher().start()
    cfg = {"teacher": "openai", "teacher_url": teacher.url, "teacher_model": "m",
           "teacher_api_key_env": "STAGEWISE_TEST_TEACHER_KEY"}
    api = StandInApi(spec=_spec("BRIDGE", cfg, items), manifest=items).start()
    try:
        proc = _launch(api, tmp_path, STAGEWISE_TEST_TEACHER_KEY="sk-wrong")
        proc.communicate(timeout=120)
        assert proc.returncode == 1
        last = _statuses(api)[-1]
        assert last["status"] == "FAILED" and "HTTP 401: Incorrect API key provided" in last["message"]
        assert api.traces == {}
    finally:
        api.stop()
        teacher.stop()


def test_a_rewrite_that_grades_wrong_is_posted_and_counted_as_rejected_on_cpu(tmp_path):
    items = _bridge_items(3)
    teacher = StandInTeacher(reply=lambda prompt: "12+7=19. Answer: 99999", key=None).start()
    try:
        cfg = {"teacher": "openai", "teacher_url": teacher.url, "teacher_model": "m", "teacher_api_key_env": None}
        ctx, client = _ctx(tmp_path, "BRIDGE", cfg, items, with_model=False)
        result = bridge.run(ctx)
        assert ctx.reporter.close(10)
        assert len(client.traces) == 3 and all(t["producer"] == "m" for t in client.traces)
        assert result.summary["bridge/rejected"] == 3 and result.summary["bridge/verified"] == 0
        assert _metrics(client)[-1]["bridge/rewritten"] == 3
    finally:
        teacher.stop()


def test_the_stages_refuse_manifests_without_the_traces_they_work_on_on_cpu(tmp_path):
    items = _bridge_items(2)
    items[1]["trace"] = None
    ctx, _ = _ctx(tmp_path, "BRIDGE", {}, items, with_model=False)
    with pytest.raises(ValueError, match="BRIDGE needs a teacher trace on every manifest item; 1 of 2"):
        bridge.run(ctx)
    ctx.reporter.close(5)
    ctx, _ = _ctx(tmp_path, "CRITIQUE", {}, _bridge_items(2), with_model=False)
    with pytest.raises(ValueError, match="CRITIQUE critiques the student's ROLLOUT traces; 2 items"):
        critique.run(ctx)
    ctx.reporter.close(5)


def test_a_cancel_stops_a_teacher_stage_at_a_batch_boundary_on_cpu(tmp_path):
    items, _ = _critique_items()
    ctx, client = _ctx(tmp_path, "CRITIQUE", {"batch_size": 2}, items, with_model=False)
    ctx.stop_event.set()
    result = critique.run(ctx)
    assert ctx.reporter.close(5)
    assert result.cancelled and client.critiques == []


def test_traces_and_critiques_go_out_at_most_1000_a_request_and_the_answers_add_up_on_cpu(tmp_path):
    problems = A.generate(2500, seed=1)
    items = [_item(i, p, A.raw_trace(p), "TEACHER") for i, p in enumerate(problems)]
    api = StandInApi(manifest=items).start()
    env = RunEnv(api.url, api.run_id, api.token, str(tmp_path))
    rep = EventReporter(ApiClient(env, timeout_s=5), str(tmp_path), heartbeat_s=60, flush_interval_s=0.05).start()
    try:
        rep.post_traces([{"sampleId": it["sampleId"], "key": f"bridge-o{it['ordinal']}", "kind": "BRIDGED",
                          "parentTraceId": it["trace"]["id"], "text": A.explicit_trace(p), "producer": "t"}
                         for it, p in zip(items, problems)])
        rep.post_traces([{"sampleId": "S0", "key": "bridge-o1", "kind": "BRIDGED", "parentTraceId": "T0",
                          "text": "Answer: -1", "producer": "t"}])  # resent key: existing
        assert rep.wait_for_requests(30)
        assert api.post_sizes["traces"] == [1000, 1000, 500, 1]
        assert rep.answers["traces"] == {"inserted": 2500, "existing": 1, "verified": 2500, "rejected": 0}
        assert rep.close(10)
    finally:
        api.stop()


def test_a_trace_hint_comes_through_the_manifest_as_it_was_sent_on_cpu(tmp_path):
    items = _bridge_items(2)
    items[0]["trace"].update(kind="BRIDGED", hint="12+7=19.", text=" 19-5=14. Answer: 14")
    items[1]["trace"]["hint"] = None
    api = StandInApi(manifest=items).start()
    try:
        got = ApiClient(RunEnv(api.url, api.run_id, api.token, str(tmp_path))).get_manifest()
        assert got == items and got[0]["trace"]["hint"] == "12+7=19."
    finally:
        api.stop()
