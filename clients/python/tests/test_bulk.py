"""Bulk NDJSON import and export, and manifest exports."""

import gzip
import json

import pytest

import stagewise

CREATE = "mutation($name: String!) { createDataset(input: { name: $name, split: TRAIN }) { id } }"
MANIFEST = """query($id: ID!) { node(id: $id) { ... on Manifest { itemCount purpose sha256 } } }"""

N = 300


def write_ndjson(path, rows):
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def read_ndjson(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def sample_rows():
    return [
        {
            "externalId": f"py-{i}",
            "problem": f"A crate holds {i} apples and {i + 7} pears. How many fruits in all?",
            "answer": str(2 * i + 7),
            "tags": ["py", "even" if i % 2 == 0 else "odd"],
            "metadata": {"i": i},
        }
        for i in range(N)
    ]


def trace_rows():
    return [
        {
            "sampleExternalId": f"py-{i}",
            "kind": "TEACHER",
            "text": f"{i} + {i + 7} = {2 * i + 7}. The answer is {2 * i + 7}.",
            "producer": "py-teacher",
        }
        for i in range(N)
    ]


def test_import_then_export_round_trips_samples_and_traces(client, tmp_path):
    client.query(CREATE, name="py-bulk")
    samples_file = tmp_path / "samples.ndjson"
    write_ndjson(samples_file, sample_rows())
    assert client.import_ndjson("py-bulk", samples_file)["inserted"] == N
    # Re-sending (gzip-compressed on the way) creates nothing new.
    again = client.import_ndjson("py-bulk", samples_file, gzip=True)
    assert (again["inserted"], again["existing"]) == (0, N)

    # A .gz file goes as is, with Content-Encoding: gzip.
    traces_file = tmp_path / "traces.ndjson.gz"
    with gzip.open(traces_file, "wt") as f:
        for row in trace_rows():
            f.write(json.dumps(row) + "\n")
    assert client.import_ndjson("py-bulk", traces_file, kind="traces")["inserted"] == N

    out = client.export_ndjson("py-bulk", tmp_path / "out.ndjson")
    exported = read_ndjson(out)
    assert len(exported) == N
    by_id = {row["externalId"]: row for row in exported}
    for row in sample_rows():
        got = by_id[row["externalId"]]
        assert (got["problem"], got["answer"], got["tags"], got["metadata"]) == (
            row["problem"],
            row["answer"],
            row["tags"],
            row["metadata"],
        )

    odd = read_ndjson(client.export_ndjson("py-bulk", tmp_path / "odd.ndjson", tagsAll=["py", "odd"]))
    assert len(odd) == N // 2 and all("odd" in r["tags"] for r in odd)

    traces = read_ndjson(
        client.export_ndjson(
            "py-bulk", tmp_path / "t.ndjson", kind="traces", trace_kind="TEACHER", correct=True
        )
    )
    assert len(traces) == N
    assert {t["sampleExternalId"] for t in traces} == {f"py-{i}" for i in range(N)}
    assert all(t["correct"] is True and t["producer"] == "py-teacher" for t in traces)


def test_a_malformed_line_raises_bad_user_input_naming_the_line_and_writes_nothing(client, tmp_path):
    client.query(CREATE, name="py-malformed")
    path = tmp_path / "bad.ndjson"
    rows = [json.dumps(r) for r in sample_rows()[:3]]
    path.write_text("\n".join(rows) + '\n{"externalId": "x", "problem": \n')
    with pytest.raises(stagewise.BadUserInput) as info:
        client.import_ndjson("py-malformed", path)
    assert info.value.details["line"] == 4
    assert "line 4" in info.value.message
    assert read_ndjson(client.export_ndjson("py-malformed", tmp_path / "none.ndjson")) == []


def test_an_unknown_dataset_raises_not_found(client, tmp_path):
    path = tmp_path / "one.ndjson"
    write_ndjson(path, sample_rows()[:1])
    with pytest.raises(stagewise.NotFound):
        client.import_ndjson("no-such-dataset", path)
    with pytest.raises(stagewise.NotFound):
        client.export_ndjson("no-such-dataset", tmp_path / "x.ndjson")


def test_an_answer_the_server_gives_before_reading_a_large_body_is_the_error_raised(client, tmp_path):
    # The server refuses an unknown dataset without reading the upload and closes: the client's
    # remaining chunks meet a broken pipe, but what it raises is the server's answer.
    path = tmp_path / "large.ndjson"
    line = json.dumps({"externalId": "x", "problem": "a" * 1000, "answer": "1"}) + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(line * 60_000)
    with pytest.raises(stagewise.NotFound):
        client.import_ndjson("no-such-dataset", path)


def test_export_manifest_as_ndjson_gives_one_chat_item_per_manifest_item(client, env, tmp_path):
    manifest_id = env["STAGEWISE_MANIFEST_ID"]
    meta = client.query(MANIFEST, id=manifest_id)["node"]
    path = client.export_manifest(manifest_id, tmp_path / "m.ndjson")
    items = read_ndjson(path)
    assert len(items) == meta["itemCount"] > 0
    ordinals = [item["ordinal"] for item in items]
    assert ordinals == sorted(ordinals) and len(set(ordinals)) == len(ordinals)
    for item in items:
        roles = [m["role"] for m in item["messages"]]
        assert roles == ["user", "assistant"]
        assert all(isinstance(m["content"], str) and m["content"] for m in item["messages"])
        assert item["sample_id"] and item["trace_id"]
    df = stagewise.to_dataframe(items)
    assert {"messages", "sample_id", "trace_id", "ordinal"} <= set(df.columns)


def test_export_manifest_as_parquet_writes_a_parquet_file(client, env, tmp_path):
    path = client.export_manifest(env["STAGEWISE_MANIFEST_ID"], tmp_path / "m.parquet", format="parquet")
    data = path.read_bytes()
    # Debian's python3 has no pyarrow to read it back: check the format's magic at both ends.
    assert len(data) > 100
    assert data[:4] == b"PAR1" and data[-4:] == b"PAR1"


def test_export_manifest_refuses_an_unknown_format_and_an_unknown_manifest(client, tmp_path):
    with pytest.raises(ValueError):
        client.export_manifest("x", tmp_path / "m", format="csv")
    with pytest.raises((stagewise.NotFound, stagewise.BadUserInput)):
        client.export_manifest("not-an-id", tmp_path / "m.ndjson")
    assert not (tmp_path / "m.ndjson").exists()
    assert not (tmp_path / "m.ndjson.part").exists()
