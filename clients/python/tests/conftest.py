"""Fixtures for the client's tests, which run against a real stagewise server.

`tests/python-client.test.ts` (node) starts the server, seeds it and runs this suite with:
STAGEWISE_URL, STAGEWISE_API_KEY (WRITE), STAGEWISE_READ_KEY, STAGEWISE_DATASET (the name of a
dataset holding the built-in task), STAGEWISE_DATASET_ID, STAGEWISE_MANIFEST_ID (the frozen SFT
manifest of a finished run) and STAGEWISE_CHECKPOINT_ID (the checkpoint it produced).
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import stagewise  # noqa: E402

NEEDED = ("STAGEWISE_URL", "STAGEWISE_API_KEY")
SERVER_FIXTURES = {"env", "client", "read_client", "dataset"}


def pytest_collection_modifyitems(config, items):
    missing = [name for name in NEEDED if not os.environ.get(name)]
    if missing:
        skip = pytest.mark.skip(reason=f"needs a server: {', '.join(missing)} unset")
        for item in items:
            if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def env():
    return os.environ


@pytest.fixture(scope="session")
def client(env):
    return stagewise.Client(env["STAGEWISE_URL"], env["STAGEWISE_API_KEY"])


@pytest.fixture(scope="session")
def read_client(env):
    return stagewise.Client(env["STAGEWISE_URL"], env["STAGEWISE_READ_KEY"])


@pytest.fixture(scope="session")
def dataset(env):
    return {"name": env["STAGEWISE_DATASET"], "id": env["STAGEWISE_DATASET_ID"]}


#: A small SFT of the tiny model on the built-in task's explicit teacher traces: seconds on a CPU.
def sft_input(steps=40, log_every=2):
    return {
        "stage": "SFT",
        "config": {"steps": steps, "batch_size": 16, "log_every": log_every, "num_threads": 1},
        "selection": {
            "filter": {},
            "traceKinds": ["TEACHER"],
            "traceProducer": "builtin-teacher-explicit",
            "limit": 64,
        },
    }


START_RUN = """mutation($input: StartRunInput!) { startRun(input: $input) { id status } }"""

STORED_EVENTS = """query($id: ID!, $after: Int!) {
  run(id: $id) { status finishedAt events(afterSeq: $after, first: 100) { seq type payload } }
}"""


def stored_events(client, run_id):
    """Every stored event of a run, read back through GraphQL (not through the subscription)."""
    events = []
    while True:
        page = client.query(STORED_EVENTS, id=run_id, after=events[-1]["seq"] if events else 0)
        events.extend(page["run"]["events"])
        if len(page["run"]["events"]) < 100:
            return events
