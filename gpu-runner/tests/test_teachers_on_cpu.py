"""The built-in teachers: the rewrite teacher's explicit traces, the critique teacher's verdicts."""
import pytest

from gpu_runner.grading import grade
from gpu_runner.tasks import arithmetic as A
from gpu_runner.teachers import ask, fill_prompt
from gpu_runner.teachers.critique import BuiltinCritiqueTeacher
from gpu_runner.teachers.rewrite import BuiltinRewriteTeacher


def _problems(level, n=10, seed=0):
    return A.generate(n, seed=seed, levels=(level,))


def _steps(p):
    """The explicit trace's steps, without the answer: ["12+7=19.", "19-5=14."]."""
    return A.explicit_trace(p).split(" Answer:")[0].split(" ")


@pytest.mark.parametrize("level", A.LEVELS)
def test_problem_text_parses_back_to_the_generated_problem_on_cpu(level):
    for p in _problems(level, 50):
        q = A.parse_problem(p.text)
        assert (q.start, q.steps, q.level, q.answer) == (p.start, p.steps, p.level, p.answer)


@pytest.mark.parametrize("level", A.LEVELS)
def test_the_rewrite_teacher_writes_one_explicit_step_per_operation_that_grades_correct_on_cpu(level):
    teacher = BuiltinRewriteTeacher()
    for p in _problems(level, 30, seed=level):
        text = teacher.rewrite(p.text, str(p.answer), A.raw_trace(p))
        assert text == A.explicit_trace(p)
        assert text.count("=") == level and text.endswith(f"Answer: {p.answer}")
        assert grade(text, str(p.answer)).correct


@pytest.mark.parametrize("junk", [
    "What is the capital of France?",
    "",
    "Ann has 5 apples. She eats 3. How many apples does Ann have?",  # wording the task never uses
    "Ann has 5 apples. She gives away 9. How many apples does Ann have?",  # would go negative
    "Ann has 5 apples. She finds 3. How many coins does Ann have?",  # asks about other things
])
def test_the_rewrite_teacher_refuses_text_it_cannot_parse_on_cpu(junk):
    assert BuiltinRewriteTeacher().rewrite(junk, "2", "5+3=8. Answer: 8") is None
    assert ask(BuiltinRewriteTeacher().rewrite, junk, "2", "x") == (
        None, "refused: not a problem this teacher can handle")


def _critique(p, rollout):
    c = BuiltinCritiqueTeacher().critique(p.text, str(p.answer), rollout)
    assert c is not None
    for text in (c.repair, c.solution):  # every critique's repair and solution are right
        assert grade(text, str(p.answer)).correct, text
    assert c.solution == A.explicit_trace(p)
    return c


@pytest.mark.parametrize("level", [2, 3, 4, 5])
def test_a_wrong_result_is_found_at_its_step_and_the_repair_keeps_the_steps_before_it_on_cpu(level):
    for p in _problems(level, 10, seed=10 + level):
        steps = _steps(p)
        for k in range(1, level + 1):  # break step k's result
            a, result = steps[k - 1].rstrip(".").split("=")
            broken = steps[:k - 1] + [f"{a}={int(result) + 10}."] + steps[k:]
            c = _critique(p, " ".join(broken) + f" Answer: {p.answer + 10}")
            assert (c.verdict, c.first_wrong_step) == ("WRONG_STEP", k)
            assert f"Step {k} says '{a}={int(result) + 10}'" in c.diagnosis
            assert f"It should say '{steps[k - 1].rstrip('.')}'" in c.diagnosis
            assert c.repair == A.explicit_trace(p)  # the k - 1 right steps, then the right rest


def test_a_wrong_operand_or_a_skipped_operation_is_the_first_wrong_step_on_cpu():
    p = A.parse_problem("Ann has 12 apples. She finds 7, then loses 5, then buys 3. How many apples does Ann have?")
    assert A.explicit_trace(p) == "12+7=19. 19-5=14. 14+3=17. Answer: 17"
    c = _critique(p, "12+7=19. 19-6=13. 13+3=16. Answer: 16")  # wrong operand
    assert (c.verdict, c.first_wrong_step) == ("WRONG_STEP", 2)
    assert "subtract 6 where the problem says subtract 5" in c.diagnosis
    assert c.repair == "12+7=19. 19-5=14. 14+3=17. Answer: 17"
    c = _critique(p, "12+7=19. 19+3=22. Answer: 22")  # skips "-5"
    assert (c.verdict, c.first_wrong_step) == ("WRONG_STEP", 2)
    assert "skips the problem's next operation, subtract 5" in c.diagnosis
    c = _critique(p, "12+7=19. 18-5=13. 13+3=16. Answer: 16")  # not the running total
    assert (c.verdict, c.first_wrong_step) == ("WRONG_STEP", 2)
    assert "starts from 18 while the running total after step 1 is 19" in c.diagnosis
    c = _critique(p, "12+7=19. 19-5=14. the end. Answer: 14")  # not a calculation
    assert (c.verdict, c.first_wrong_step) == ("WRONG_STEP", 3)
    assert c.repair == "12+7=19. 19-5=14. 14+3=17. Answer: 17"
    c = _critique(p, "12+7-5=15. 15+3=18. Answer: 18")  # raw style: several operations in one step
    assert (c.verdict, c.first_wrong_step) == ("WRONG_STEP", 1)
    assert "12+7-5=14: the arithmetic is wrong" in c.diagnosis
    c = _critique(p, "12+7=19. 19-5=14. 14+3=17. 17+1=18. Answer: 18")  # an operation too many
    assert (c.verdict, c.first_wrong_step) == ("WRONG_STEP", 4)


def test_right_steps_with_a_wrong_missing_or_right_final_answer_on_cpu():
    p = A.parse_problem("Ben has 30 coins. He buys 3, then uses 19. How many coins does Ben have?")
    c = _critique(p, "30+3=33. 33-19=14. Answer: 41")
    assert (c.verdict, c.first_wrong_step) == ("WRONG_FINAL_ANSWER", None)
    assert "says 41; it should be 'Answer: 14'" in c.diagnosis
    assert c.repair == "30+3=33. 33-19=14. Answer: 14"
    c = _critique(p, "30+3=33. Answer: 33")  # stops one operation early
    assert (c.verdict, c.first_wrong_step) == ("WRONG_FINAL_ANSWER", None)
    assert "stops after 1 of the problem's 2 operations" in c.diagnosis
    assert c.repair == "30+3=33. 33-19=14. Answer: 14"
    c = _critique(p, "30+3=33. 33-19=14.")
    assert (c.verdict, c.first_wrong_step) == ("NO_ANSWER", None)
    assert "never states a final answer" in c.diagnosis
    c = _critique(p, "30+3=33. 33-19=14. Answer:")
    assert (c.verdict, c.first_wrong_step) == ("NO_ANSWER", None)
    c = _critique(p, "")
    assert (c.verdict, c.first_wrong_step) == ("NO_ANSWER", None) and c.repair == "30+3=33. 33-19=14. Answer: 14"
    c = _critique(p, "30+3=33. 33-19=14. Answer: 14")
    assert (c.verdict, c.first_wrong_step) == ("CORRECT", None)
    c = _critique(p, A.raw_trace(p))
    assert (c.verdict, c.first_wrong_step, c.repair) == ("CORRECT", None, "30+3-19=14. Answer: 14")


def test_a_wrong_step_wins_over_a_missing_answer_on_cpu():
    p = A.parse_problem("Ben has 30 coins. He buys 3, then uses 19. How many coins does Ben have?")
    c = _critique(p, "30+3=34. 34-19=15.")
    assert (c.verdict, c.first_wrong_step) == ("WRONG_STEP", 1)


def test_the_critique_teacher_refuses_problems_it_cannot_parse_or_a_gold_that_disagrees_on_cpu():
    p = _problems(2, 1)[0]
    t = BuiltinCritiqueTeacher()
    assert t.critique("Solve x^2 = 4.", "2", "x=2. Answer: 2") is None
    assert t.critique(p.text, str(p.answer + 1), A.explicit_trace(p)) is None
    assert t.critique(p.text, "seven", A.explicit_trace(p)) is None


def test_prompt_placeholders_are_filled_once_and_braces_of_json_stay_on_cpu():
    out = fill_prompt('Q: {problem}\nA: {trace}\nReply {"verdict": ...} {unknown}', problem="x {trace} y",
                      trace="T")
    assert out == 'Q: x {trace} y\nA: T\nReply {"verdict": ...} {unknown}'
