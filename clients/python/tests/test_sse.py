"""The SSE reader on its own (no server): the framing graphql-sse sends."""

import io

from stagewise.sse import read_events


def events(text):
    return list(read_events(io.BytesIO(text.encode())))


def test_events_pings_and_completion_as_graphql_sse_sends_them():
    stream = ':\n\nevent: next\ndata: {"data": {"x": 1}}\n\n:\n\nevent: complete\ndata:\n\n'
    assert events(stream) == [("next", '{"data": {"x": 1}}'), ("complete", "")]


def test_crlf_lines_multi_line_data_and_a_default_event_name():
    assert events("data: a\r\ndata: b\r\n\r\n") == [("message", "a\nb")]


def test_an_event_cut_off_by_a_dropped_connection_is_not_yielded():
    assert events('event: next\ndata: {"data": 1}\n\nevent: next\ndata: {"da') == [
        ("next", '{"data": 1}')
    ]
