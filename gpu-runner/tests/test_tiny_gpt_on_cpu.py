"""The tiny GPT: cache, padding, checkpoints, ONNX export."""
import os

import torch

from gpu_runner.models import load_model
from gpu_runner.models.tiny_gpt import CharTokenizer, LayerCache, TinyBackend, TinyGPTConfig, left_pad
from gpu_runner.stages.common import completion_logprobs, rollout_batch


def _model(seed=0):
    torch.manual_seed(seed)
    return TinyBackend.new(TinyGPTConfig.preset("tiny"), torch.device("cpu"))


def test_tokenizer_round_trips_text_and_marks_unknown_characters_on_cpu():
    tok = CharTokenizer()
    text = "Ann has 12 apples.\n12+7=19. Answer: 19"
    assert tok.decode(tok.encode(text)) == text
    assert tok.encode("é") == [CharTokenizer.UNK]
    assert tok.encode("a", bos=True)[0] == CharTokenizer.BOS


def test_kv_cache_gives_the_same_logits_as_one_full_pass_on_cpu():
    m = _model()
    ids, mask = left_pad([m.encode("12+7-5=", bos=True), m.encode("1+1=", bos=True)], 0, "cpu")
    with torch.no_grad():
        full = m.module(ids, mask)
        caches = [LayerCache() for _ in m.module.blocks]
        a = m.module(ids[:, :5], mask[:, :5], caches, 0)
        b = m.module(ids[:, 5:], mask, caches, 5)
    both = torch.cat([a, b], dim=1)
    assert torch.allclose(both[mask], full[mask], atol=1e-5)  # pad positions are never read


def test_left_padding_does_not_change_a_sequence_logits_on_cpu():
    m = _model()
    short = m.encode("3+4=", bos=True)
    ids, mask = left_pad([m.encode("12+7-5=", bos=True), short], 0, "cpu")
    with torch.no_grad():
        padded = m.module(ids, mask)[1, -len(short):]
        alone = m.module(torch.tensor([short]))[0]
    assert torch.allclose(padded, alone, atol=1e-5)


def test_completion_logprobs_match_an_unpadded_forward_on_cpu():
    m = _model()
    p, c = m.encode("Q\n", bos=True), m.encode("42") + [m.eos_id]
    batch = rollout_batch([m.encode("longer prompt\n", bos=True), p], [m.encode("7"), c], m.pad_id, "cpu")
    with torch.no_grad():
        lp = completion_logprobs(m, batch)[1]
        logits = m.module(torch.tensor([p + c]))[0]
    ref = torch.log_softmax(logits, -1)[len(p) - 1: len(p) - 1 + len(c)].gather(1, torch.tensor(c)[:, None])[:, 0]
    assert torch.allclose(lp[: len(c)], ref, atol=1e-5)


def test_generate_returns_one_completion_per_prompt_and_greedy_is_deterministic_on_cpu():
    m = _model()
    prompts = [m.encode("Ann has 3 pens.\n", bos=True), m.encode("x\n", bos=True)]
    out = m.generate(prompts, 12, 1.0)
    assert len(out) == 2 and all(len(c) <= 12 and m.eos_id not in c for c in out)
    assert m.generate(prompts, 12, 0.0) == m.generate(prompts, 12, 0.0)


def test_checkpoint_directory_round_trips_weights_config_and_tokenizer_on_cpu(tmp_path):
    m = _model()
    m.save(str(tmp_path / "ck"))
    assert sorted(os.listdir(tmp_path / "ck")) == ["char_tokenizer.json", "model.pt", "tiny_gpt.json"]
    loaded = load_model(str(tmp_path / "ck"), model_size="tiny", hf_config=None, device=torch.device("cpu"),
                        dtype="auto", seed=1)
    x = torch.tensor([m.encode("5+5=", bos=True)])
    with torch.no_grad():
        assert torch.equal(m.module(x), loaded.module(x))


def test_onnx_export_writes_a_model_with_dynamic_batch_and_sequence_on_cpu(tmp_path):
    m = _model()
    path = m.export_onnx(str(tmp_path / "model.onnx"))
    assert os.path.getsize(path) > 100_000  # the weights are inside
    x = torch.randint(4, 100, (3, 17))
    with torch.no_grad():
        assert m.module(x).shape == (3, 17, CharTokenizer().vocab_size)  # what the export computes
    try:
        import onnxruntime as ort  # not installed on the CPU machines; the API side runs it in Node
    except ImportError:
        return
    sess = ort.InferenceSession(path)
    (logits,) = sess.run(None, {"input_ids": x.numpy()})
    with torch.no_grad():
        assert abs(logits - m.module(x).numpy()).max() < 1e-4
