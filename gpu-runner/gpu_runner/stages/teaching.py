"""What the teacher stages (BRIDGE, CRITIQUE) share: each manifest item carries a trace, a
teacher answers about it batch by batch (a thread pool for a remote teacher), the answers are
graded and posted, and failures are counted and logged (up to a cap). No model is loaded."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional

from ..teachers import ask
from .common import Eta, StageContext, StageResult

MAX_FAILURES_LOGGED = 20


def require_traces(items: List[dict], stage: str, needs: str, how: str) -> None:
    """Refuses a manifest where an item has no trace text, naming the first ordinals."""
    missing = [it["ordinal"] for it in items if not (it.get("trace") or {}).get("text")]
    if missing or not items:
        raise ValueError(f"{stage} needs {needs} on every manifest item; {len(missing)} of {len(items)} have none "
                         f"(first ordinals: {missing[:5]}). {how}")


def teach_in_batches(ctx: StageContext, call: Callable[..., Any], counts: Dict[str, int], *,
                     failure_key: str, failure_note: str, failures_unlogged: str,
                     handle: Callable[[dict, Any], Optional[dict]],
                     post: Callable[[List[dict]], None], seen_key: Optional[str] = None) -> Optional[StageResult]:
    """Asks `call(problem, answer, trace text)` about every item, a batch at a time. A failed
    answer adds to counts[failure_key] and is logged as "o<ordinal> (...): <failure_note>: why"
    (past the cap, one last line: "N more <failures_unlogged> (not logged one by one)");
    `handle(item, answer)` updates the counts and returns the record to post (or None). After each
    batch: post, METRIC with the counts, PROGRESS. counts[seen_key] counts every item asked about.
    Returns the StageResult of a cancel, else None."""
    cfg, rep, items = ctx.config, ctx.reporter, ctx.items
    eta = Eta(len(items))
    workers = cfg.teacher_concurrency if cfg.teacher == "openai" else 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="teacher") as pool:
        for start in range(0, len(items), cfg.batch_size):
            if ctx.should_stop():
                return StageResult(cancelled=True, summary={"items": start, **counts})
            batch = items[start: start + cfg.batch_size]
            answers = pool.map(lambda it: ask(call, it["problem"], it["answer"], it["trace"]["text"]), batch)
            records = []
            for it, (answer, why) in zip(batch, answers):
                if seen_key:
                    counts[seen_key] += 1
                if answer is None:
                    counts[failure_key] += 1
                    if counts[failure_key] <= MAX_FAILURES_LOGGED:
                        rep.log(f"o{it['ordinal']} ({it.get('externalId')}): {failure_note}: {why}")
                    continue
                record = handle(it, answer)
                if record is not None:
                    records.append(record)
            post(records)
            done = start + len(batch)
            rep.metric(done, counts)
            rep.progress(done, len(items), eta(done))
    failures = counts[failure_key]
    if failures > MAX_FAILURES_LOGGED:
        rep.log(f"{failures - MAX_FAILURES_LOGGED} more {failures_unlogged} (not logged one by one)")
    return None
