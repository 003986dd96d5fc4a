"""The stagewise API client: GraphQL queries, paginated iterators, bulk NDJSON, exports, live runs.

Standard library only (``urllib``); pandas is imported by :func:`to_dataframe` alone.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, Mapping, Optional, Union

from .errors import StagewiseError, TransportError, error_from
from .sse import read_events

PathLike = Union[str, "os.PathLike[str]"]

#: Run statuses after which a run never changes again.
TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "CANCELLED")

SAMPLE_FIELDS = "id externalId problem answer domain tags metadata contentHash createdAt"
TRACE_FIELDS = (
    "id kind text finalAnswer correct reward graderVersion producer externalId tokenCount "
    "studentNll metadata createdAt sample { id externalId } run { id }"
)
RUN_EVENT_FIELDS = "seq type payload at"

_CHUNK = 1 << 20  # bytes per read and write when streaming files


def to_dataframe(rows: Iterable[Mapping[str, Any]]):
    """A pandas DataFrame of dicts (an iterator from ``iter_*``, ``watch_run``, or a list).

    One column per top-level key, in first-seen order; nested objects (``metadata``,
    ``sample``) stay dicts in their cell. pandas is imported here, only when asked for.
    """
    import pandas as pd  # noqa: PLC0415 (optional dependency, imported on use)

    return pd.DataFrame.from_records(list(rows))


def _dig(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            raise KeyError(f"no {key!r} on the way to {path!r} in the answer")
        data = data[key]
    return data


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set)):
        return ",".join(str(v) for v in value)
    return str(value)


class Client:
    """A connection to one stagewise API.

    Args:
        url: the API's base URL, e.g. ``http://127.0.0.1:4000`` (a trailing ``/graphql`` is
            accepted and ignored).
        api_key: a key made with ``npm run keys -- create`` (``sw_...``); its scopes decide what
            the client may do (READ: queries and exports; WRITE: also mutations and imports).
        timeout: seconds to wait for a response (and between two chunks of a stream).

    Every method raises a subclass of :class:`stagewise.StagewiseError` named after the
    API's error code: ``BadUserInput``, ``NotFound``, ``Conflict``, ``Unauthenticated``,
    ``Forbidden``, ``Internal`` (and ``TransportError`` when no answer came).
    """

    user_agent = "stagewise-python/0.1"

    def __init__(self, url: str, api_key: str, timeout: float = 60.0) -> None:
        url = url.rstrip("/")
        if url.endswith("/graphql"):
            url = url[: -len("/graphql")]
        self.url = url
        self.api_key = api_key
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Client({self.url!r}, api_key={self.api_key[:11]!r}...)"

    # --- HTTP ---------------------------------------------------------------------------

    def _open(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Optional[Dict[str, str]] = None,
        params: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ):
        """Sends one request; returns the open response or raises the API's typed error."""
        url = self.url + path
        if params:
            query = {k: _query_value(v) for k, v in params.items() if v is not None}
            if query:
                url += "?" + urllib.parse.urlencode(query)
        all_headers = {
            "Authorization": f"Bearer {self.api_key}",
            "User-Agent": self.user_agent,
            **(headers or {}),
        }
        req = urllib.request.Request(url, data=body, headers=all_headers, method=method)
        try:
            return urllib.request.urlopen(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as err:
            with err:
                raise self._http_error(err.code, err.read()) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise TransportError(f"{method} {url}: {reason}") from err

    def _upload(
        self,
        path: str,
        chunks: Iterable[bytes],
        headers: Dict[str, str],
        timeout: Optional[float] = None,
    ) -> bytes:
        """POSTs a streamed body (chunked transfer encoding); returns the 2xx answer's bytes or
        raises the API's typed error. A server may answer before it has read the body (an
        unknown dataset, a refused key) and close the connection: the broken pipe of the
        remaining chunks is then not the error, the answer that came is, so it is read."""
        url = self.url + path
        parts = urllib.parse.urlsplit(url)
        connection = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = connection(parts.hostname, parts.port, timeout=timeout or self.timeout)
        try:
            conn.putrequest("POST", parts.path + (f"?{parts.query}" if parts.query else ""))
            for name, value in {
                "Authorization": f"Bearer {self.api_key}",
                "User-Agent": self.user_agent,
                "Transfer-Encoding": "chunked",
                **headers,
            }.items():
                conn.putheader(name, value)
            conn.endheaders()
            try:
                for chunk in chunks:
                    if chunk:
                        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered early and closed: read what it said
            res = conn.getresponse()
            raw = res.read()
        except (OSError, http.client.HTTPException) as err:
            raise TransportError(f"POST {url}: {err}") from err
        finally:
            conn.close()
        if not 200 <= res.status < 300:
            raise self._http_error(res.status, raw)
        return raw

    @staticmethod
    def _http_error(status: int, raw: bytes) -> StagewiseError:
        """The typed error of a non-2xx answer: GraphQL's ``errors`` or REST's ``error``."""
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
            return Client._graphql_error(body["errors"], status)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            details = dict(body["error"])
            code = details.pop("code", None)
            message = details.pop("message", f"HTTP {status}")
            return error_from(code, message, {**details, "status": status})
        text = raw[:200].decode("utf-8", "replace")
        if status == 404:
            return error_from("NOT_FOUND", f"HTTP 404: {text}", {"status": status})
        return TransportError(f"HTTP {status}: {text}", details={"status": status})

    @staticmethod
    def _graphql_error(errors: list, status: Optional[int] = None) -> StagewiseError:
        first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
        details = dict(first.get("extensions") or {})
        code = details.pop("code", None)
        if first.get("path"):
            details["path"] = first["path"]
        if status is not None:
            details["status"] = status
        if len(errors) > 1:
            details["errors"] = errors
        return error_from(code, first.get("message", "unknown error"), details)

    # --- GraphQL ------------------------------------------------------------------------

    def query(
        self, doc: str, variables: Optional[Mapping[str, Any]] = None, **vars: Any
    ) -> Dict[str, Any]:
        """Runs a GraphQL query or mutation and returns its ``data``.

        Variables come as keyword arguments (``client.query(doc, id=run_id)``) or as a
        ``variables`` dict (for names that are not Python identifiers). Raises the typed error of
        the first error's ``extensions.code`` (the whole list is in ``err.details["errors"]``
        when there are several).
        """
        payload = {"query": doc, "variables": {**(variables or {}), **vars}}
        with self._open(
            "POST",
            "/graphql",
            body=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        ) as res:
            raw = res.read()
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError as err:
            raise TransportError(f"not a JSON answer: {raw[:200]!r}") from err
        if body.get("errors"):
            raise self._graphql_error(body["errors"])
        return body["data"]

    def iter_connection(
        self, doc: str, path: str, page_size: int = 500, **vars: Any
    ) -> Iterator[Dict[str, Any]]:
        """Yields every node of a Relay connection, page after page, to the end.

        ``doc`` must declare ``$first: Int!`` and ``$after: String``, pass them to the connection
        at ``path`` (dotted, e.g. ``"samples"`` or ``"run.traces"``), and select its
        ``pageInfo { hasNextPage endCursor }`` and either ``nodes { ... }`` or
        ``edges { node { ... } }``. Other variables come as keyword arguments. Pages are fetched
        lazily, as the iterator is consumed.
        """
        after: Optional[str] = None
        while True:
            data = self.query(doc, variables={**vars, "first": page_size, "after": after})
            conn = _dig(data, path)
            nodes = conn["nodes"] if "nodes" in conn else [e["node"] for e in conn["edges"]]
            yield from nodes
            info = conn["pageInfo"]
            if not info["hasNextPage"] or not nodes:
                return
            after = info["endCursor"]

    def iter_samples(
        self,
        filter: Optional[Mapping[str, Any]] = None,
        page_size: int = 500,
        fields: str = SAMPLE_FIELDS,
    ) -> Iterator[Dict[str, Any]]:
        """Every sample matching ``filter`` (a ``SampleFilter``: ``datasetIds``, ``tagsAny``,
        ``passRate: {checkpointId, min, max}``...), oldest first. ``fields``: the selection."""
        doc = f"""query($first: Int!, $after: String, $filter: SampleFilter) {{
          samples(first: $first, after: $after, filter: $filter) {{
            nodes {{ {fields} }} pageInfo {{ hasNextPage endCursor }}
          }}
        }}"""
        return self.iter_connection(doc, "samples", page_size=page_size, filter=filter)

    def iter_traces(
        self,
        filter: Optional[Mapping[str, Any]] = None,
        page_size: int = 500,
        fields: str = TRACE_FIELDS,
    ) -> Iterator[Dict[str, Any]]:
        """Every trace matching ``filter`` (a ``TraceFilter``: ``sampleId``, ``kind``,
        ``correct``, ``runId``, ``producer``), oldest first. ``fields``: the selection."""
        doc = f"""query($first: Int!, $after: String, $filter: TraceFilter) {{
          traces(first: $first, after: $after, filter: $filter) {{
            nodes {{ {fields} }} pageInfo {{ hasNextPage endCursor }}
          }}
        }}"""
        return self.iter_connection(doc, "traces", page_size=page_size, filter=filter)

    to_dataframe = staticmethod(to_dataframe)

    # --- bulk NDJSON and exports ----------------------------------------------------------

    def import_ndjson(
        self,
        dataset: str,
        path: PathLike,
        kind: str = "samples",
        gzip: Optional[bool] = None,
        timeout: Optional[float] = None,
    ) -> Dict[str, Any]:
        """Imports an NDJSON file into a dataset (by name) through ``POST /v1/datasets/{name}/{kind}``.

        The file is streamed in 1 MiB chunks (chunked transfer encoding), so its size does not
        matter. A file ending in ``.gz`` is sent as is with ``Content-Encoding: gzip``;
        ``gzip=True`` compresses a plain file on the way. All or nothing: a malformed line raises
        :class:`BadUserInput` (``err.details["line"]`` when the server names it) and writes
        nothing. Returns the server's summary, e.g. ``{"inserted": 1000, "existing": 0, ...}``.
        """
        if kind not in ("samples", "traces"):
            raise ValueError(f"kind must be 'samples' or 'traces', not {kind!r}")
        path = Path(path)
        already_gzip = path.suffix == ".gz"
        compress = bool(gzip) and not already_gzip
        headers = {"Content-Type": "application/x-ndjson"}
        if already_gzip or compress:
            headers["Content-Encoding"] = "gzip"
        raw = self._upload(
            f"/v1/datasets/{urllib.parse.quote(dataset, safe='')}/{kind}",
            _file_chunks(path, compress),
            headers,
            timeout,
        )
        return json.loads(raw.decode("utf-8"))

    def export_ndjson(
        self, dataset: str, path: PathLike, kind: str = "samples", **filters: Any
    ) -> Path:
        """Streams a dataset's samples or traces to an NDJSON file; returns its path.

        ``GET /v1/datasets/{name}/{kind}``, written in chunks (constant memory). Filters are the
        endpoint's query parameters: samples by ``tagsAny``, ``tagsAll`` (lists or
        comma-separated), ``domain``, ``problemContains``, ``passRateCheckpointId`` with
        ``passRateMin`` / ``passRateMax``; traces by ``trace_kind`` (the endpoint's ``kind``: TEACHER, ROLLOUT...,
        renamed here because ``kind`` picks samples or traces), ``correct`` (a bool), ``runId``,
        ``producer``.
        """
        if kind not in ("samples", "traces"):
            raise ValueError(f"kind must be 'samples' or 'traces', not {kind!r}")
        if "trace_kind" in filters:
            filters["kind"] = filters.pop("trace_kind")
        return self._download(
            f"/v1/datasets/{urllib.parse.quote(dataset, safe='')}/{kind}", path, filters
        )

    def export_manifest(self, manifest_id: str, path: PathLike, format: str = "ndjson") -> Path:
        """Downloads a frozen manifest as a trainer reads it; returns the file's path.

        ``format="ndjson"``: chat messages as TRL reads them (one item per line, in ordinal
        order); ``format="parquet"``: verl's columns. ``manifest_id`` is the manifest's global id
        (``run.manifest.id``). Read it back with ``pandas.read_json(path, lines=True)`` or
        ``pandas.read_parquet(path)`` (which needs pyarrow).
        """
        if format not in ("ndjson", "parquet"):
            raise ValueError(f"format must be 'ndjson' or 'parquet', not {format!r}")
        return self._download(
            f"/v1/manifests/{urllib.parse.quote(manifest_id, safe='')}/export",
            path,
            {"format": format},
        )

    def _download(self, url_path: str, path: PathLike, params: Mapping[str, Any]) -> Path:
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        with self._open("GET", url_path, params=params) as res, open(tmp, "wb") as out:
            while True:
                chunk = res.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
        os.replace(tmp, path)
        return path

    # --- live runs -------------------------------------------------------------------------

    def watch_run(
        self,
        run_id: str,
        after_seq: int = 0,
        fields: str = RUN_EVENT_FIELDS,
        reconnect_timeout: float = 120.0,
        max_backoff: float = 10.0,
        idle_timeout: float = 60.0,
    ) -> Iterator[Dict[str, Any]]:
        """Yields a run's events live, in ``seq`` order, each once, until the run has ended.

        Subscribes to ``runEvents(runId, afterSeq)`` over graphql-sse (``POST /graphql/stream``,
        one event stream per subscription): first the stored events after ``after_seq``, then new
        ones as the run reports them. The server completes the stream once the run has ended
        (SUCCEEDED, FAILED or CANCELLED) and its event log is closed (``Run.eventsComplete``), and
        every event was sent; the generator then returns. The terminal STATUS event may be
        followed by the last output lines the launcher stored after the process ended: what it
        yields is exactly what a later replay of the run holds.

        A dropped connection (reset, end of stream without completion, or no byte for
        ``idle_timeout`` seconds: the server pings every 12 s) is resumed from the last ``seq``
        seen, after a backoff doubling from 0.5 s up to ``max_backoff``, with jitter; after
        ``reconnect_timeout`` seconds without getting through it raises :class:`TransportError`.
        Errors the API answers (unknown run, bad key) are raised at once.
        ``fields`` selects the event's fields (``seq`` is always fetched).
        """
        doc = f"""subscription($runId: ID!, $afterSeq: Int!) {{
          runEvents(runId: $runId, afterSeq: $afterSeq) {{ seq {fields} }}
        }}"""
        last = after_seq
        backoff = 0.5
        failing_since: Optional[float] = None
        while True:
            body = json.dumps({"query": doc, "variables": {"runId": run_id, "afterSeq": last}})
            try:
                res = self._open_event_stream(body.encode("utf-8"), idle_timeout)
                failing_since = None
                try:
                    for event, data in read_events(res):
                        if event == "complete":
                            return
                        if event != "next":
                            continue
                        message = json.loads(data) if data else {}
                        if message.get("errors"):
                            raise self._graphql_error(message["errors"])
                        item = (message.get("data") or {}).get("runEvents")
                        if item is None:
                            continue
                        failing_since, backoff = None, 0.5
                        if item["seq"] <= last:
                            continue  # already yielded (defensive: the server sends each once)
                        last = item["seq"]
                        yield item
                finally:
                    res.close()
                # The stream ended without "complete": the connection was dropped.
                reason: Union[str, BaseException] = "the event stream ended early"
            except TransportError as err:
                reason = err
            except (OSError, socket.timeout, http.client.HTTPException, ValueError) as err:
                # ValueError: reading a response that was closed under us, or a cut-off line.
                reason = err
            now = time.monotonic()
            failing_since = failing_since or now
            if now - failing_since > reconnect_timeout:
                raise TransportError(
                    f"watching run {run_id}: no connection for {reconnect_timeout:.0f} s "
                    f"after seq {last} ({reason})",
                    details={"lastSeq": last},
                )
            time.sleep(backoff * (0.5 + random.random() / 2))
            backoff = min(backoff * 2, max_backoff)

    def _open_event_stream(self, body: bytes, idle_timeout: float):
        """Opens one graphql-sse event stream (distinct connections mode) for ``body``.

        Returns the response, read with ``readline()``. Tests wrap it to drop the connection.
        """
        return self._open(
            "POST",
            "/graphql/stream",
            body=body,
            headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
            timeout=idle_timeout,
        )


def _file_chunks(path: Path, compress: bool) -> Iterator[bytes]:
    """The file's bytes in chunks, gzip-compressed on the way when asked."""
    gz: Optional[Any] = zlib.compressobj(6, zlib.DEFLATED, 31) if compress else None
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            out = gz.compress(chunk) if gz else chunk
            if out:
                yield out
    if gz:
        tail = gz.flush()
        if tail:
            yield tail


__all__ = [
    "Client",
    "to_dataframe",
    "TERMINAL_STATUSES",
    "SAMPLE_FIELDS",
    "TRACE_FIELDS",
    "RUN_EVENT_FIELDS",
]
