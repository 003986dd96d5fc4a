"""GPU check of the Hugging Face backend: a small Qwen2-style model built from a config (nothing
is downloaded), 30 SFT steps and 10 GRPO steps through the runner's own stages in bf16, offline.

    cd gpu-runner && python3 tools/gpu_check.py [--sft-steps 30] [--rl-steps 10]

Prints tokens/s, peak GPU memory, the losses (finite?) and how far the parameters moved. Needs a
CUDA GPU with PyTorch 2.x and transformers; runs in a few minutes.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from gpu_runner.__main__ import main as runner_main  # noqa: E402
from gpu_runner.models import load_model  # noqa: E402
from gpu_runner.tasks import arithmetic  # noqa: E402

QWEN2_SMALL = {
    "model_type": "qwen2",
    "hidden_size": 512,
    "intermediate_size": 1408,
    "num_hidden_layers": 8,
    "num_attention_heads": 8,
    "num_key_value_heads": 4,
    "max_position_embeddings": 1024,
    "tie_word_embeddings": True,
}


def read_ndjson(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def manifest(problems, with_trace):
    rows = []
    for i, p in enumerate(problems):
        trace = {"id": f"t{i}", "kind": "TEACHER", "text": arithmetic.explicit_trace(p)} if with_trace else None
        rows.append({"ordinal": i + 1, "sampleId": f"s{i}", "externalId": p.external_id, "problem": p.text,
                     "answer": str(p.answer), "trace": trace})
    return rows


def run_stage(work, stage, config, items, checkpoint_uri):
    os.makedirs(work, exist_ok=True)
    spec = {
        "run": {"id": f"gpu-check-{stage.lower()}", "stage": stage, "attempt": 1, "config": config},
        "inputCheckpoint": None if checkpoint_uri is None else
        {"id": "c0", "name": "sft", "baseModel": "qwen2", "uri": checkpoint_uri},
        "manifest": {"id": "m", "purpose": stage, "itemCount": len(items), "sha256": ""},
    }
    with open(os.path.join(work, "spec.json"), "w") as f:
        json.dump(spec, f)
    with open(os.path.join(work, "manifest.ndjson"), "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in items)
    torch.cuda.reset_peak_memory_stats()
    t0 = time.time()
    code = runner_main(["--offline", "--quiet", "--spec", os.path.join(work, "spec.json"),
                        "--manifest", os.path.join(work, "manifest.ndjson"), "--work-dir", work])
    seconds = time.time() - t0
    events = read_ndjson(os.path.join(work, "events.ndjson"))
    checkpoints = read_ndjson(os.path.join(work, "checkpoints.ndjson"))
    return {
        "exit": code,
        "seconds": seconds,
        "peak_gib": torch.cuda.max_memory_allocated() / 2**30,
        "metrics": [e["payload"] for e in events if e["type"] == "METRIC"],
        "status": [e["payload"].get("status") for e in events if e["type"] == "STATUS"],
        "failure": [e["payload"] for e in events if e["type"] == "STATUS" and e["payload"].get("status") == "FAILED"],
        "checkpoint": checkpoints[-1]["uri"] if checkpoints else None,
    }


def weights(uri_or_model):
    model = uri_or_model
    if isinstance(uri_or_model, str):
        model = load_model(uri_or_model, model_size="tiny", hf_config=None, device=torch.device("cuda"),
                           dtype="bfloat16", seed=0)
    return {k: v.detach().float().cpu() for k, v in model.module.state_dict().items()}


def moved(a, b):
    num = sum(float((a[k] - b[k]).norm() ** 2) for k in a)
    den = sum(float(a[k].norm() ** 2) for k in a)
    return math.sqrt(num / max(den, 1e-12))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sft-steps", type=int, default=30)
    ap.add_argument("--rl-steps", type=int, default=10)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU: nothing to check")
        return 2
    import transformers

    print(f"torch {torch.__version__}, transformers {transformers.__version__}, GPU {torch.cuda.get_device_name(0)}, "
          f"bf16 {torch.cuda.is_bf16_supported()}")
    common = {"device": "cuda", "dtype": "bfloat16", "seed": 0, "log_every": 5, "save_onnx": False}
    problems = arithmetic.generate(2000, seed=0)
    root = tempfile.mkdtemp(prefix="stagewise-gpu-check-")

    sft_cfg = dict(common, hf_config=QWEN2_SMALL, steps=args.sft_steps, batch_size=64, lr=1e-3)
    init = weights(load_model(None, model_size="tiny", hf_config=QWEN2_SMALL, device=torch.device("cuda"),
                              dtype="bfloat16", seed=0))
    sft = run_stage(os.path.join(root, "sft"), "SFT", sft_cfg, manifest(problems, True), None)
    losses = [m["train/loss"] for m in sft["metrics"] if "train/loss" in m]
    tps = [m["train/tokens_per_s"] for m in sft["metrics"] if "train/tokens_per_s" in m]
    print(f"SFT  exit {sft['exit']} status {sft['status']} in {sft['seconds']:.1f} s, peak GPU memory "
          f"{sft['peak_gib']:.2f} GiB")
    print(f"SFT  loss first {losses[0] if losses else None} last {losses[-1] if losses else None}, all finite: "
          f"{bool(losses) and all(math.isfinite(x) for x in losses)}; tokens/s last {tps[-1] if tps else None}")
    if sft["failure"]:
        print(f"SFT  failure: {sft['failure']}")
        return 1
    after_sft = weights(sft["checkpoint"])
    print(f"SFT  parameters moved: relative L2 change {moved(init, after_sft):.4f} (0 would mean no update)")

    rl_cfg = dict(common, steps=args.rl_steps, prompts_per_step=16, group_size=8, lr=1e-5, max_new_tokens=64)
    rl = run_stage(os.path.join(root, "rl"), "RL", rl_cfg, manifest(problems[:400], False), sft["checkpoint"])
    rewards = [m.get("train/reward_mean", m.get("train/reward")) for m in rl["metrics"]]
    rl_losses = [m["train/loss"] for m in rl["metrics"] if "train/loss" in m]
    print(f"GRPO exit {rl['exit']} status {rl['status']} in {rl['seconds']:.1f} s, peak GPU memory "
          f"{rl['peak_gib']:.2f} GiB")
    print(f"GRPO loss finite: {bool(rl_losses) and all(math.isfinite(x) for x in rl_losses)} ({rl_losses[-3:]}); "
          f"reward {[r for r in rewards if r is not None][-3:]}")
    last = rl["metrics"][-1] if rl["metrics"] else {}
    print(f"GRPO last metrics: {json.dumps({k: v for k, v in last.items() if isinstance(v, (int, float))})[:600]}")
    if rl["failure"]:
        print(f"GRPO failure: {rl['failure']}")
        return 1
    print(f"GRPO parameters moved: relative L2 change {moved(after_sft, weights(rl['checkpoint'])):.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
