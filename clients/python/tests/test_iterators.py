"""Cursor-following iterators and to_dataframe."""

import math

import stagewise

COUNT_SAMPLES = """query($filter: SampleFilter) { samples(first: 1, filter: $filter) { totalCount } }"""
COUNT_TRACES = """query($filter: TraceFilter) { traces(first: 1, filter: $filter) { totalCount } }"""


class CountingClient(stagewise.Client):
    """Counts the GraphQL requests, i.e. the pages fetched."""

    requests = 0

    def query(self, doc, variables=None, **vars):
        self.requests += 1
        return super().query(doc, variables, **vars)


def test_iter_samples_follows_cursors_to_the_end_yielding_each_sample_once(env, client, dataset):
    flt = {"datasetIds": [dataset["id"]]}
    total = client.query(COUNT_SAMPLES, filter=flt)["samples"]["totalCount"]
    assert total >= 100
    counting = CountingClient(env["STAGEWISE_URL"], env["STAGEWISE_API_KEY"])
    samples = list(counting.iter_samples(flt, page_size=7))
    ids = [s["id"] for s in samples]
    assert len(ids) == total
    assert len(set(ids)) == total
    assert counting.requests == math.ceil(total / 7)
    # Same order as one big page: the server's stable order.
    first_page = client.query(
        "query($f: SampleFilter) { samples(first: 500, filter: $f) { nodes { id } } }", f=flt
    )
    assert ids == [n["id"] for n in first_page["samples"]["nodes"]]


def test_iter_samples_takes_a_filter_and_a_selection(client, dataset):
    rows = list(
        client.iter_samples(
            {"datasetIds": [dataset["id"]], "problemContains": "no such problem text"},
            page_size=5,
        )
    )
    assert rows == []
    rows = list(client.iter_samples({"datasetIds": [dataset["id"]]}, page_size=50, fields="id"))
    assert rows and all(set(r) == {"id"} for r in rows)


def test_iter_traces_follows_cursors_to_the_end(client):
    flt = {"kind": "TEACHER", "producer": "builtin-teacher-explicit"}
    total = client.query(COUNT_TRACES, filter=flt)["traces"]["totalCount"]
    assert total >= 100
    traces = list(client.iter_traces(flt, page_size=33))
    assert len(traces) == total
    assert len({t["id"] for t in traces}) == total
    assert all(t["kind"] == "TEACHER" and t["sample"]["externalId"] for t in traces)


def test_iter_connection_reads_edges_and_nested_paths(client, dataset):
    doc = """query($name: String!, $first: Int!, $after: String) {
      dataset(name: $name) { id }
      samples(first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } }
    }"""
    via_edges = [n["id"] for n in client.iter_connection(doc, "samples", page_size=9, name=dataset["name"])]
    via_nodes = [s["id"] for s in client.iter_samples(page_size=500, fields="id")]
    assert via_edges == via_nodes


def test_to_dataframe_has_one_column_per_field_and_one_row_per_node(client, dataset):
    df = stagewise.to_dataframe(client.iter_samples({"datasetIds": [dataset["id"]]}, page_size=64))
    assert list(df.columns) == stagewise.SAMPLE_FIELDS.split()
    total = client.query(COUNT_SAMPLES, filter={"datasetIds": [dataset["id"]]})["samples"]["totalCount"]
    assert len(df) == total
    assert df["id"].is_unique
    assert client.to_dataframe([]).empty
