"""`python3 -m gpu_runner`: spec -> stage -> events, as PROTOCOL.md describes.

STATUS RUNNING goes out first; STATUS SUCCEEDED or FAILED (with the message) last. On a cancel
(the API's answer says cancelRequested, or SIGTERM) the stage stops at its next step boundary, the
events are flushed and the process exits 0 with no final STATUS.

Without an API (local runs, benchmarks):
    python3 -m gpu_runner --offline --spec spec.json [--manifest items.ndjson] --work-dir DIR
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
import traceback

from . import protocol
from .client import ApiClient, EventReporter, OfflineClient, fetch_with_retry
from .config import TEACHER_STAGES, ConfigError, parse_config, to_dict
from .disk import DiskFull

EXIT_OK, EXIT_FAILED, EXIT_BAD_CONFIG = 0, 1, 2


def _say(text: str, file=None) -> None:
    """Print to stdout/stderr, which a launcher may have pointed at a file on the run's disk: when
    that disk is full, the run's outcome (already reported) must not turn into a new error."""
    try:
        print(text, file=file or sys.stdout, flush=True)
    except OSError:
        pass


def _setup_torch(cfg):
    import torch

    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config device is 'cuda' but torch sees no GPU here; use device 'auto' or 'cpu'")
    device = torch.device("cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
                          else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(cfg.num_threads or os.cpu_count() or 1)
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    return device


def run_stage(spec: dict, items, reporter, work_dir: str, stop_event: threading.Event):
    """Validate the config, load the model (BRIDGE and CRITIQUE need none), run the stage.
    Returns (config, StageResult)."""
    from .stages.common import StageContext

    run = spec["run"]
    stage = run["stage"]
    cfg = parse_config(stage, run.get("config"))
    reporter.enabled = cfg.report_events
    ckpt = spec.get("inputCheckpoint")
    if stage in TEACHER_STAGES:  # a teacher does the work: no model, no checkpoint
        from .stages import bridge, critique

        shown = to_dict(cfg)  # the prompt can be long: say whether it is the default instead
        custom = cfg.teacher_prompt != type(cfg)().teacher_prompt
        shown["teacher_prompt"] = f"custom ({len(cfg.teacher_prompt)} characters)" if custom else "default"
        reporter.log(f"{stage}: teacher {cfg.teacher}, {len(items)} manifest items, "
                     f"config {json.dumps(shown, separators=(',', ':'))}")
        ctx = StageContext(run_id=str(run["id"]), stage=stage, config=cfg, items=items, model=None,
                           reporter=reporter, work_dir=work_dir, input_checkpoint=ckpt, stop_event=stop_event)
        return cfg, {"BRIDGE": bridge.run, "CRITIQUE": critique.run}[stage](ctx)

    from .models import load_model
    from .stages import eval as eval_stage, probe, rl, sft

    device = _setup_torch(cfg)
    model = load_model(ckpt["uri"] if ckpt else None, model_size=cfg.model_size, hf_config=cfg.hf_config,
                       device=device, dtype=cfg.dtype, seed=cfg.seed)
    n_params = sum(p.numel() for p in model.module.parameters())
    reporter.log(f"{stage} on {device.type}: model {model.base_model} ({n_params} parameters, "
                 f"{'from ' + ckpt['name'] if ckpt else 'from scratch'}), {len(items)} manifest items, "
                 f"config {json.dumps(to_dict(cfg), separators=(',', ':'))}")
    ctx = StageContext(run_id=str(run["id"]), stage=stage, config=cfg, items=items, model=model,
                       reporter=reporter, work_dir=work_dir, input_checkpoint=ckpt, stop_event=stop_event)
    runner = {"PROBE": probe.run, "SFT": sft.run, "RL": rl.run, "EVAL": eval_stage.run}[stage]
    return cfg, runner(ctx)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m gpu_runner", description="Run one stagewise stage.")
    ap.add_argument("--offline", action="store_true", help="no API: read --spec/--manifest, write events to files")
    ap.add_argument("--spec", help="(offline) a JSON file shaped like GET /spec")
    ap.add_argument("--manifest", help="(offline) an NDJSON file shaped like GET /manifest")
    ap.add_argument("--work-dir", help="(offline) the work dir (default: $STAGEWISE_WORK_DIR or ./runner-work)")
    ap.add_argument("--quiet", action="store_true", help="(offline) do not echo events to stdout")
    args = ap.parse_args(argv)

    if args.offline:
        if not args.spec:
            ap.error("--offline needs --spec")
        with open(args.spec) as f:
            spec = json.load(f)
        items = []
        if args.manifest:
            with open(args.manifest) as f:
                items = [json.loads(line) for line in f if line.strip()]
        work_dir = args.work_dir or os.environ.get(protocol.ENV_WORK_DIR) or "runner-work"
        client = OfflineClient(spec, items, work_dir, echo=not args.quiet)
    else:
        env = protocol.RunEnv.from_environ()
        work_dir = env.work_dir
        client = ApiClient(env)

    stop = threading.Event()

    def on_sigterm(signum, frame):
        stop.set()  # the stage stops at its next step boundary

    signal.signal(signal.SIGTERM, on_sigterm)
    reporter = EventReporter(client, work_dir).start()
    try:
        spec = fetch_with_retry(client.get_spec, "GET /spec")
        reporter.status("RUNNING")
        items = fetch_with_retry(client.get_manifest, "GET /manifest") if spec.get("manifest") else []
        expected = (spec.get("manifest") or {}).get("itemCount")
        if expected is not None and expected != len(items):
            raise RuntimeError(f"manifest has {len(items)} items, the spec says {expected}")
        t0 = time.monotonic()
        cfg, result = run_stage(spec, items, reporter, work_dir, stop)
        if result.cancelled:
            reporter.log(f"cancelled: stopped at a step boundary ({json.dumps(result.summary)})", force=True)
            reporter.close()
            return EXIT_OK
        reporter.wait_for_requests(protocol.FLUSH_TIMEOUT_S)  # checkpoints, rollouts, ... before the end
        for kind in ("traces", "critiques"):
            if reporter.answers.get(kind):
                counts = ", ".join(f"{k} {v}" for k, v in reporter.answers[kind].items())
                reporter.log(f"POST /{kind}: the API answered {counts}")
        summary = {k: v for k, v in result.summary.items() if isinstance(v, (int, float))}
        summary["time/total"] = time.monotonic() - t0
        reporter.metric(int(summary.get("steps", 0)), summary)
        reporter.status("SUCCEEDED")
        ok = reporter.close()
        _say(f"gpu_runner: {spec['run']['stage']} succeeded {json.dumps(result.summary, default=str)}")
        if not ok:
            _say("gpu_runner: some events could not be delivered (see the event buffer)", sys.stderr)
        return EXIT_OK
    except ConfigError as e:
        for line in str(e).splitlines():
            reporter.log(line, force=True)
        reporter.status("FAILED", str(e))
        reporter.close()
        _say(str(e), sys.stderr)
        return EXIT_BAD_CONFIG
    except BaseException as e:  # noqa: BLE001 -- anything at all must end as STATUS FAILED
        tb = traceback.format_exc().rstrip().splitlines()
        for line in tb[-20:]:
            reporter.log(line, stream="stderr", force=True)
        # A full disk says so first ("no space left on device while writing ..."), as it is.
        message = (str(e) if isinstance(e, DiskFull) else f"{type(e).__name__}: {e}")[:2000]
        reporter.status("FAILED", message)
        reporter.close()
        _say("\n".join(tb), sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
