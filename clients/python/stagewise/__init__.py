"""stagewise: a Python client for the stagewise API (datasets, traces, mastery, runs).

    import os, stagewise
    client = stagewise.Client(os.environ["STAGEWISE_URL"], os.environ["STAGEWISE_API_KEY"])
    df = stagewise.to_dataframe(client.iter_samples({"tagsAny": ["easy"]}, page_size=200))
    for event in client.watch_run(run_id):
        print(event["seq"], event["type"], event["payload"])
"""

from .client import (
    RUN_EVENT_FIELDS,
    SAMPLE_FIELDS,
    TERMINAL_STATUSES,
    TRACE_FIELDS,
    Client,
    to_dataframe,
)
from .errors import (
    BadUserInput,
    Conflict,
    Forbidden,
    Internal,
    NotFound,
    StagewiseError,
    TransportError,
    Unauthenticated,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "to_dataframe",
    "StagewiseError",
    "BadUserInput",
    "NotFound",
    "Conflict",
    "Unauthenticated",
    "Forbidden",
    "Internal",
    "TransportError",
    "TERMINAL_STATUSES",
    "SAMPLE_FIELDS",
    "TRACE_FIELDS",
    "RUN_EVENT_FIELDS",
]
