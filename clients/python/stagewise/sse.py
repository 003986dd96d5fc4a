"""A minimal Server-Sent Events reader (the ``text/event-stream`` format), for graphql-sse."""

from __future__ import annotations

from typing import IO, Iterator, Optional, Tuple


def read_events(stream: IO[bytes]) -> Iterator[Tuple[str, str]]:
    """Yields ``(event, data)`` for each event of an SSE stream until it ends.

    ``stream`` needs ``readline()`` returning bytes (an ``http.client.HTTPResponse``). Comment
    lines (``:``, the server's keep-alive pings) are skipped; several ``data:`` lines of one
    event are joined with newlines; an event without an ``event:`` field is ``message``. A stream
    that ends in the middle of an event drops that event (it was not complete).
    """
    event: Optional[str] = None
    data: list = []
    while True:
        raw = stream.readline()
        if not raw:
            return
        line = raw.decode("utf-8").rstrip("\r\n")
        if line == "":
            if event is not None or data:
                yield (event or "message", "\n".join(data))
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        # id and retry: graphql-sse's distinct connections mode sends neither.
