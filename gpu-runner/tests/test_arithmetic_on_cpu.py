"""The built-in task: correct answers, seeded, in the API's import format."""
import json
import re

from gpu_runner.grading import extract_answer, grade
from gpu_runner.tasks import arithmetic as A


def _eval_steps(text):
    """Check every 'a+b=c' / 'a-b+c=d' of a trace and return the final answer."""
    for expr, result in re.findall(r"([\d+\-]+)=(\d+)\.", text):
        assert eval(expr) == int(result), text  # noqa: S307 -- digits and +/- only
    return extract_answer(text)


def test_answers_are_correct_and_traces_agree_with_them_on_cpu():
    for p in A.generate(500, seed=3):
        assert 1 <= p.ops <= 5 and p.ops == p.level and p.answer >= 0
        total = p.start
        for op, x in p.steps:
            assert 1 <= x <= 99
            total = total + x if op == "+" else total - x
            assert total >= 0
        assert total == p.answer
        assert _eval_steps(A.raw_trace(p)) == str(p.answer)
        assert _eval_steps(A.explicit_trace(p)) == str(p.answer)
        assert A.explicit_trace(p).count("=") == p.ops


def test_the_teacher_styles_look_as_specified_on_cpu():
    p = A.Problem("x", "t", 12, (("+", 7), ("-", 5)), 2)
    assert A.raw_trace(p) == "12+7-5=14. Answer: 14"
    assert A.explicit_trace(p) == "12+7=19. 19-5=14. Answer: 14"


def test_generation_is_deterministic_by_seed_and_split_on_cpu():
    assert A.generate(50, seed=1) == A.generate(50, seed=1)
    assert A.generate(50, seed=1) != A.generate(50, seed=2)
    train, ev = A.generate(50, seed=1), A.generate(50, seed=1, split="eval")
    assert [p.text for p in train] != [p.text for p in ev]
    assert {p.level for p in A.generate(200, seed=0, levels=[2, 4])} == {2, 4}


def test_a_large_set_has_no_repeated_problem_and_numbers_its_ids_in_order_on_cpu():
    # 20,000 draws repeat some one-operation problems; each repeat is drawn again, so every
    # problem (one sample in the API) keeps its traces, and the ids stay 0..n-1.
    problems = A.generate(20000, seed=2)
    assert len({p.text for p in problems}) == 20000
    assert [p.external_id for p in problems] == [f"arith-train-s2-{i}" for i in range(20000)]
    # A small set draws no repeat: the same problems as before repeats were drawn again.
    assert [p.text for p in A.generate(300, seed=2)] == [p.text for p in problems[:300]]


def test_cli_writes_sample_and_trace_lines_in_the_import_format_on_cpu(tmp_path):
    s, t = tmp_path / "out" / "samples.ndjson", tmp_path / "out" / "traces.ndjson"
    assert A.main(["--n", "20", "--seed", "0", "--samples", str(s), "--traces", str(t), "--split", "eval"]) == 0
    samples = [json.loads(line) for line in s.read_text().splitlines()]
    traces = [json.loads(line) for line in t.read_text().splitlines()]
    assert len(samples) == 20 and len(traces) == 40
    assert set(samples[0]) == {"externalId", "problem", "answer", "domain", "tags", "metadata"}
    assert samples[0]["domain"] == "arithmetic" and samples[0]["externalId"].startswith("arith-eval-")
    ops = samples[0]["metadata"]["ops"]
    assert f"ops:{ops}" in samples[0]["tags"] and samples[0]["metadata"] == {"ops": ops, "level": ops}
    assert set(traces[0]) == {"sampleExternalId", "kind", "text", "finalAnswer", "correct", "producer"}
    assert {tr["producer"] for tr in traces} == {"builtin-teacher-raw", "builtin-teacher-explicit"}
    by_id = {x["externalId"]: x for x in samples}
    for tr in traces:
        assert tr["kind"] == "TEACHER" and tr["correct"] is True
        assert tr["finalAnswer"] == by_id[tr["sampleExternalId"]]["answer"]
        assert grade(tr["text"], tr["finalAnswer"]).correct


def test_minimal_grader_extracts_the_answer_line_then_the_last_number_on_cpu():
    assert extract_answer("12+7=19. Answer: 19") == "19"
    assert extract_answer("so 3 then 1,204") == "1204"
    assert extract_answer("no digits") is None
    assert grade("Answer: 14.0", "14").correct and not grade("Answer: 15", "14").correct
    assert grade("x", "14").reward == 0.0
