"""query() and the typed errors, one per error code the API answers."""

import base64

import pytest

import stagewise

DATASET = "query($name: String!) { dataset(name: $name) { id name split } }"
RUN = "query($id: ID!) { run(id: $id) { id status } }"
CREATE = "mutation($name: String!) { createDataset(input: { name: $name, split: TRAIN }) { id } }"


def global_id(type_name, pk):
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def test_query_returns_the_data_of_the_answer(client, dataset):
    data = client.query(DATASET, name=dataset["name"])
    assert data == {"dataset": {"id": dataset["id"], "name": dataset["name"], "split": "TRAIN"}}


def test_variables_can_also_come_as_a_dict(client, dataset):
    data = client.query(DATASET, variables={"name": dataset["name"]})
    assert data["dataset"]["id"] == dataset["id"]


def test_a_malformed_id_raises_bad_user_input_with_its_code(client):
    with pytest.raises(stagewise.BadUserInput) as info:
        client.query(RUN, id="not-an-id")
    err = info.value
    assert isinstance(err, stagewise.StagewiseError)
    assert err.code == "BAD_USER_INPUT"
    assert "not-an-id" in err.message
    assert err.details.get("id") == "not-an-id"


def test_an_unknown_id_raises_not_found(client):
    with pytest.raises(stagewise.NotFound) as info:
        client.query(RUN, id=global_id("Run", 987654321))
    assert info.value.code == "NOT_FOUND"


def test_a_query_the_schema_refuses_raises_bad_user_input(client):
    with pytest.raises(stagewise.BadUserInput):
        client.query("{ noSuchField }")


def test_an_unknown_key_raises_unauthenticated(env, dataset):
    bad = stagewise.Client(env["STAGEWISE_URL"], "sw_not_a_real_key_at_all")
    with pytest.raises(stagewise.Unauthenticated) as info:
        bad.query(DATASET, name=dataset["name"])
    assert info.value.code == "UNAUTHENTICATED"
    assert info.value.details["status"] == 401


def test_a_read_key_on_a_mutation_raises_forbidden(read_client, dataset):
    assert read_client.query(DATASET, name=dataset["name"])["dataset"]["id"] == dataset["id"]
    with pytest.raises(stagewise.Forbidden) as info:
        read_client.query(CREATE, name="never-made")
    assert info.value.code == "FORBIDDEN"


def test_creating_a_dataset_twice_raises_conflict(client):
    client.query(CREATE, name="py-twice")
    with pytest.raises(stagewise.Conflict):
        client.query(CREATE, name="py-twice")


def test_no_server_raises_transport_error():
    nowhere = stagewise.Client("http://127.0.0.1:9", "sw_x", timeout=5)
    with pytest.raises(stagewise.TransportError) as info:
        nowhere.query("{ __typename }")
    assert info.value.code == "TRANSPORT"
