"""Scoring traces (models/scoring.py): the PyTorch reference of the API's ONNX scorer."""
import json
import math

import torch

from gpu_runner.models.scoring import fit_to_context, main, score_items
from gpu_runner.models.tiny_gpt import TinyBackend, TinyGPTConfig
from gpu_runner.stages.common import encode_completion, encode_prompt


def _model(seed=0):
    torch.manual_seed(seed)
    return TinyBackend.new(TinyGPTConfig.preset("tiny"), torch.device("cpu"))


def test_a_batched_score_is_the_mean_nll_of_an_unpadded_forward_over_completion_tokens_on_cpu():
    m = _model()
    items = [{"problem": "Ann has 3 pens. She finds 4.", "completion": "3+4=7. Answer: 7"},
             {"problem": "x", "completion": "1"}]
    scores = score_items(m, items, batch_size=2)
    for it, s in zip(items, scores):
        p, c = encode_prompt(m, it["problem"]), encode_completion(m, it["completion"])
        with torch.no_grad():
            logp = torch.log_softmax(m.module(torch.tensor([p + c]))[0], -1)  # (T, V)
        nll = [-float(logp[len(p) - 1 + j, t]) for j, t in enumerate(c)]
        assert s["tokens"] == len(c)
        assert math.isclose(s["meanNll"], sum(nll) / len(nll), abs_tol=1e-5)


def test_a_long_pair_is_cut_as_sft_cuts_it_on_cpu():
    p, c = list(range(30)), list(range(100, 110))
    assert fit_to_context(p, c, 64) == (p, c)
    assert fit_to_context(p, c, 16) == (p[-6:], c)  # the prompt's start goes first
    assert fit_to_context(p, c, 8) == (p[-2:], c[:6])  # 2 prompt tokens stay


def test_the_cli_writes_one_score_per_item_and_times_its_loop_on_cpu(tmp_path, capsys):
    _model().save(str(tmp_path / "ck"))
    (tmp_path / "items.jsonl").write_text(json.dumps({"problem": "1+1?", "completion": "2"}) + "\n")
    assert main(["--checkpoint", f"file://{tmp_path / 'ck'}", "--items", str(tmp_path / "items.jsonl"),
                 "--out", str(tmp_path / "out.jsonl"), "--threads", str(torch.get_num_threads())]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["items"] == 1 and summary["tokens"] == 2 and summary["seconds"] >= 0
    (row,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert row["tokens"] == 2 and row["meanNll"] > 0
