"""A full disk under the work dir, simulated with /dev/full (every write: ENOSPC) where a real full
filesystem cannot be made (the end-to-end case with a small tmpfs is tests/runs-disk-full.test.ts)."""
import os
import time

import pytest
from api_standin import StandInApi

from gpu_runner.client import ApiClient, EventReporter
from gpu_runner.disk import DiskFull, writing
from gpu_runner.protocol import RunEnv
from gpu_runner.stages.common import StageContext, save_and_register

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")


def _write_to_full_disk():
    with open("/dev/full", "w") as f:
        f.write("x" * 10)  # raised at the flush on close: [Errno 28] No space left on device


class _Reporter:
    def __init__(self):
        self.registered, self.artifacts = [], []

    def register_checkpoint(self, body):
        self.registered.append(body)

    def artifact(self, kind, uri, **extra):
        self.artifacts.append((kind, uri))


class _ModelOnAFullDisk:
    """Writes the first file of its checkpoint, then meets a full disk on the second."""

    base_model = "tiny-gpt"

    def save(self, directory):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "tiny_gpt.json"), "w") as f:
            f.write("{}")
        _write_to_full_disk()


@needs_dev_full
def test_a_checkpoint_that_meets_a_full_disk_is_removed_never_registered_and_says_no_space_on_cpu(tmp_path):
    rep = _Reporter()
    ctx = StageContext(run_id="UnVuOjE", stage="SFT", config=None, items=[], model=_ModelOnAFullDisk(),
                       reporter=rep, work_dir=str(tmp_path))
    with pytest.raises(DiskFull) as caught:
        save_and_register(ctx, "sft-full", 3, False, {})
    message = str(caught.value)
    assert message.startswith("no space left on device while writing checkpoint 'sft-full'"), message
    assert "partial files were removed" in message
    assert not (tmp_path / "checkpoints" / "sft-full").exists(), "no half-written checkpoint stays"
    assert rep.registered == [] and rep.artifacts == []


@needs_dev_full
def test_other_write_errors_pass_through_unchanged_on_cpu(tmp_path):
    removed = []
    with pytest.raises(ValueError, match="not a disk problem"):
        with writing("x", str(tmp_path), lambda: removed.append(True)):
            raise ValueError("not a disk problem")
    assert removed == [True]
    # A writer that lost the errno (torch's zip writer) but was caused by one is still a full disk.
    with pytest.raises(DiskFull):
        with writing("x", str(tmp_path)):
            try:
                _write_to_full_disk()
            except OSError as e:
                raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed") from e


@needs_dev_full
def test_events_that_cannot_be_buffered_on_a_full_disk_stay_in_memory_and_all_arrive_in_order_on_cpu(tmp_path):
    (tmp_path / "events.buffer.jsonl").symlink_to("/dev/full")  # the buffer file's disk is full
    api = StandInApi()  # not listening yet: every send fails and the events would be spilled
    env = RunEnv(api.url, api.run_id, api.token, str(tmp_path))
    rep = EventReporter(ApiClient(env, timeout_s=2.0), str(tmp_path), heartbeat_s=0.3, flush_interval_s=0.05,
                        backoff_start_s=0.05, backoff_max_s=0.2, batch_max=7).start()
    try:
        for i in range(20):
            rep.metric(i, {"train/loss": 1.0})
        deadline = time.monotonic() + 10
        while not rep._spill_failed and time.monotonic() < deadline:
            time.sleep(0.02)
        assert rep._spill_failed, "a spill was tried and failed"
        assert rep._thread.is_alive(), "the sender thread survived the full disk"
        api.start()
        rep.status("SUCCEEDED")
        assert rep.close(timeout_s=20)
        assert api.accepted_seqs == list(range(1, 22))  # every event, once, in seq order
    finally:
        api.stop()
