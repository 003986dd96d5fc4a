"""watch_run: live events over graphql-sse, to the closed log, resuming after a drop."""

import json
import time
from datetime import datetime

import pytest

import stagewise
from conftest import START_RUN, sft_input, stored_events


def start_sft(client):
    return client.query(START_RUN, input=sft_input())["startRun"]["id"]


def assert_complete_and_gapless(events, stored):
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    assert [(e["seq"], e["type"], e["payload"]) for e in events] == [
        (e["seq"], e["type"], e["payload"]) for e in stored
    ]
    statuses = [e["payload"]["status"] for e in events if e["type"] == "STATUS"]
    assert statuses[0] == "QUEUED"
    # The last STATUS is terminal; the runner's last output lines may follow it.
    assert statuses[-1] in stagewise.TERMINAL_STATUSES


def test_watch_run_yields_increasing_seqs_live_until_the_log_closes(client):
    run_id = start_sft(client)
    events, received_at = [], []
    for event in client.watch_run(run_id):
        events.append(event)
        received_at.append(time.time())
    run = client.query("query($id: ID!) { run(id: $id) { status finishedAt } }", id=run_id)
    assert run["run"]["status"] == "SUCCEEDED"
    assert [e for e in events if e["type"] == "STATUS"][-1]["payload"]["status"] == "SUCCEEDED"
    assert_complete_and_gapless(events, stored_events(client, run_id))
    types = {e["type"] for e in events}
    assert {"STATUS", "PROGRESS", "METRIC"} <= types
    # Live, not replayed afterwards: the first events came before the run finished.
    finished = datetime.fromisoformat(run["run"]["finishedAt"].replace("Z", "+00:00")).timestamp()
    assert received_at[0] < finished


def test_watch_run_from_a_seq_yields_only_what_comes_after(client):
    run_id = start_sft(client)
    everything = list(client.watch_run(run_id))
    tail = list(client.watch_run(run_id, after_seq=5))
    assert [e["seq"] for e in tail] == [e["seq"] for e in everything[5:]]


class DroppingResponse:
    """Wraps the event stream's response; after `after` events it closes the HTTP response from
    the client side, as a dropped connection would end it."""

    def __init__(self, res, after):
        self.res, self.after, self.seen, self.in_next = res, after, 0, False

    def readline(self):
        if self.seen >= self.after:
            self.res.close()
        line = self.res.readline()
        if line.startswith(b"event: next"):
            self.in_next = True
        elif line.strip() == b"" and self.in_next:
            self.in_next = False
            self.seen += 1
        return line

    def close(self):
        self.res.close()


class FlakyClient(stagewise.Client):
    """Drops its first event stream after 3 events; records the afterSeq of each connection."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.opened = []

    def _open_event_stream(self, body, idle_timeout):
        self.opened.append(json.loads(body)["variables"]["afterSeq"])
        res = super()._open_event_stream(body, idle_timeout)
        return DroppingResponse(res, 3) if len(self.opened) == 1 else res


def test_a_watcher_whose_connection_drops_resumes_from_the_last_seq(env, client):
    run_id = start_sft(client)
    flaky = FlakyClient(env["STAGEWISE_URL"], env["STAGEWISE_API_KEY"])
    events = list(flaky.watch_run(run_id))
    assert len(flaky.opened) >= 2, flaky.opened
    assert flaky.opened[:2] == [0, 3]
    assert len(events) > 3
    assert_complete_and_gapless(events, stored_events(client, run_id))


def test_watching_an_unknown_run_raises_not_found(client):
    from test_query import global_id

    with pytest.raises(stagewise.NotFound):
        next(client.watch_run(global_id("Run", 987654321)))


def test_watching_with_a_bad_key_raises_unauthenticated(env):
    bad = stagewise.Client(env["STAGEWISE_URL"], "sw_not_a_real_key_at_all")
    with pytest.raises(stagewise.Unauthenticated):
        next(bad.watch_run("anything"))
