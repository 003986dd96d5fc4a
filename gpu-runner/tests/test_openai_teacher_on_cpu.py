"""The OpenAI-compatible teacher client against a stand-in endpoint (tests/teacher_standin.py: canned
chat completions, not a model)."""
import json

import pytest
from api_standin import free_port
from teacher_standin import StandInTeacher, completion

from gpu_runner.config import parse_config
from gpu_runner.teachers import TeacherError, TeacherFatalError, ask, critique_teacher, rewrite_teacher
from gpu_runner.teachers.openai_compat import ChatClient, OpenAICritiqueTeacher, OpenAIRewriteTeacher, parse_critique

PROBLEM = "Ann has 12 apples. She finds 7, then loses 5. How many apples does Ann have?"
GOOD = {"diagnosis": "Step 2 says 19-5=13 but 19-5=14.", "verdict": "WRONG_STEP", "first_wrong_step": 2,
        "repair": "12+7=19. 19-5=14. Answer: 14", "solution": "12+7=19. 19-5=14. Answer: 14"}


@pytest.fixture
def teacher():
    t = StandInTeacher().start()
    yield t
    t.stop()


def _client(t, **kw):
    sleeps = []
    opts = dict(api_key="sk-teacher-test", temperature=0.3, max_tokens=77, timeout_s=5, retries=3, backoff_s=0.01,
                sleep=sleeps.append)
    opts.update(kw)
    return ChatClient(t.url, "teacher-model", **opts), sleeps


def test_a_rewrite_posts_model_messages_temperature_and_max_tokens_with_the_bearer_key_on_cpu(teacher):
    teacher.reply = lambda prompt: "```\n12+7=19. 19-5=14. Answer: 14\n```"
    client, _ = _client(teacher)
    t = OpenAIRewriteTeacher(client, "Rewrite.\n{problem}\n---\n{trace}\n(gold {answer})")
    assert t.name == "teacher-model"
    assert t.rewrite(PROBLEM, "14", "12+7-5=14. Answer: 14") == "12+7=19. 19-5=14. Answer: 14"  # fence removed
    (req,) = teacher.requests
    assert req["path"] == "/v1/chat/completions" and req["authorization"] == "Bearer sk-teacher-test"
    assert req["body"] == {"model": "teacher-model", "temperature": 0.3, "max_tokens": 77, "messages": [
        {"role": "user", "content": f"Rewrite.\n{PROBLEM}\n---\n12+7-5=14. Answer: 14\n(gold 14)"}]}


def test_a_500_and_a_429_are_retried_with_backoff_then_the_answer_is_used_on_cpu(teacher):
    teacher.then(500, {"error": {"message": "overloaded"}}).then(429, {"error": {"message": "slow down"}},
                                                                 {"Retry-After": "0.05"})
    teacher.then(200, "12+7=19. 19-5=14. Answer: 14")
    client, sleeps = _client(teacher)
    assert client.complete([{"role": "user", "content": "hi"}]) == "12+7=19. 19-5=14. Answer: 14"
    assert len(teacher.requests) == 3
    assert sleeps == [0.01, 0.05]  # doubling backoff; Retry-After raises the second wait


def test_retries_run_out_into_a_teacher_error_naming_the_last_failure_on_cpu(teacher):
    for _ in range(3):
        teacher.then(503, {"error": {"message": "down for maintenance"}})
    client, sleeps = _client(teacher, retries=2)
    with pytest.raises(TeacherError, match=r"failed 3 times; last: HTTP 503: down for maintenance") as e:
        client.complete([{"role": "user", "content": "hi"}])
    assert not isinstance(e.value, TeacherFatalError) and len(sleeps) == 2
    closed = ChatClient(f"http://127.0.0.1:{free_port()}/v1", "m", retries=1, backoff_s=0.01, sleep=lambda s: None)
    with pytest.raises(TeacherError, match="failed 2 times; last: URLError"):  # nothing listens there
        closed.complete([{"role": "user", "content": "hi"}])


def test_a_401_is_a_clear_fatal_error_and_is_not_retried_on_cpu(teacher):
    client, sleeps = _client(teacher, api_key="sk-wrong")
    with pytest.raises(TeacherFatalError) as e:
        client.complete([{"role": "user", "content": "hi"}])
    assert "refused the request (HTTP 401: Incorrect API key provided)" in str(e.value)
    assert "teacher_api_key_env" in str(e.value)
    assert len(teacher.requests) == 1 and sleeps == []
    t = OpenAIRewriteTeacher(client, "{trace}")
    with pytest.raises(TeacherFatalError):  # ask() lets it through: every item would fail the same way
        ask(t.rewrite, PROBLEM, "14", "x")


def test_another_4xx_fails_this_item_only_without_a_retry_on_cpu(teacher):
    teacher.then(400, {"error": {"message": "maximum context length exceeded"}})
    client, sleeps = _client(teacher)
    t = OpenAIRewriteTeacher(client, "{trace}")
    answer, why = ask(t.rewrite, PROBLEM, "14", "x")
    assert answer is None and "HTTP 400: maximum context length exceeded" in why
    assert len(teacher.requests) == 1 and sleeps == []


@pytest.mark.parametrize("body", [b"<html>bad gateway</html>", {"choices": []}, {"choices": [{"message": {}}]},
                                  completion("   ")])
def test_a_malformed_body_is_a_teacher_failure_not_a_crash_on_cpu(teacher, body):
    teacher.then(200, body)
    client, _ = _client(teacher)
    answer, why = ask(OpenAIRewriteTeacher(client, "{trace}").rewrite, PROBLEM, "14", "x")
    assert answer is None and "teacher's answer" in why


def test_a_critique_is_read_from_bare_fenced_or_wrapped_json_on_cpu(teacher):
    fenced = "Here is my critique:\n```json\n" + json.dumps(GOOD, indent=2) + "\n```\nHope it helps."
    teacher.then(200, json.dumps(GOOD)).then(200, fenced).then(200, "Sure! " + json.dumps(GOOD) + " Done.")
    client, _ = _client(teacher)
    t = OpenAICritiqueTeacher(client, "{problem}|{rollout}|{trace}|{answer}")
    for _ in range(3):
        c = t.critique(PROBLEM, "14", "12+7=19. 19-5=13. Answer: 13")
        assert (c.verdict, c.first_wrong_step, c.repair, c.solution) == (
            "WRONG_STEP", 2, GOOD["repair"], GOOD["solution"])
    sent = teacher.requests[0]["body"]["messages"][0]["content"]
    assert sent == f"{PROBLEM}|12+7=19. 19-5=13. Answer: 13|12+7=19. 19-5=13. Answer: 13|14"


def test_a_critique_reply_that_does_not_parse_is_a_teacher_failure_on_cpu(teacher):
    client, _ = _client(teacher)
    t = OpenAICritiqueTeacher(client, "{rollout}")
    for reply in ["The student forgot to carry the one.", json.dumps(dict(GOOD, verdict="MOSTLY_RIGHT")),
                  json.dumps(dict(GOOD, first_wrong_step="second")), json.dumps({"verdict": "CORRECT"}),
                  "{\"diagnosis\": \"cut off"]:
        teacher.then(200, reply)
        answer, why = ask(t.critique, PROBLEM, "14", "x")
        assert answer is None and why.startswith("the critique"), reply


def test_critique_fields_are_normalised_on_cpu():
    c = parse_critique(json.dumps({"diagnosis": " d ", "verdict": "wrong final answer", "firstWrongStep": None,
                                   "repair": "", "solution": "Answer: 3"}))
    assert (c.diagnosis, c.verdict, c.first_wrong_step, c.repair, c.solution) == (
        "d", "WRONG_FINAL_ANSWER", None, None, "Answer: 3")
    assert parse_critique(json.dumps(dict(GOOD, first_wrong_step=3.0))).first_wrong_step == 3


def test_teachers_are_built_from_the_config_with_the_key_from_the_environment_on_cpu(monkeypatch):
    cfg = parse_config("BRIDGE", {"teacher": "openai", "teacher_url": "http://127.0.0.1:9/v1/",
                                  "teacher_model": "qwen-72b", "teacher_api_key_env": "STAGEWISE_TEST_TEACHER_KEY",
                                  "teacher_timeout_s": 7, "teacher_retries": 1})
    monkeypatch.delenv("STAGEWISE_TEST_TEACHER_KEY", raising=False)
    with pytest.raises(TeacherFatalError, match=r"\$STAGEWISE_TEST_TEACHER_KEY, which is not set"):
        rewrite_teacher(cfg)
    monkeypatch.setenv("STAGEWISE_TEST_TEACHER_KEY", "sk-from-env")
    t = rewrite_teacher(cfg)
    assert isinstance(t, OpenAIRewriteTeacher) and t.name == "qwen-72b"
    assert (t.client.url, t.client.api_key, t.client.timeout_s, t.client.retries) == (
        "http://127.0.0.1:9/v1", "sk-from-env", 7.0, 1)
    no_key = parse_config("CRITIQUE", {"teacher": "openai", "teacher_url": "http://127.0.0.1:9/v1",
                                       "teacher_model": "m", "teacher_api_key_env": None})
    c = critique_teacher(no_key)
    assert isinstance(c, OpenAICritiqueTeacher) and c.client.api_key is None
    assert critique_teacher(parse_config("CRITIQUE", {})).name == "builtin-critique"
    assert rewrite_teacher(parse_config("BRIDGE", {})).name == "builtin-rewrite"
