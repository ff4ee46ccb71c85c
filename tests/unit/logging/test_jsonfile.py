import json

from dockyard.logging.jsonfile import JsonFileWriter, rfc3339_ns


def entries(path):
    return [json.loads(line) for line in open(path)]


def test_one_entry_per_line(tmp_path):
    p = tmp_path / "c.log"
    w = JsonFileWriter(str(p))
    w.write("stdout", b"a\nb\n", now_ns=1_700_000_000_123_456_789)
    w.write("stderr", b"oops\n", now_ns=1_700_000_000_123_456_789)
    w.close()
    e = entries(p)
    assert [x["log"] for x in e] == ["a\n", "b\n", "oops\n"]
    assert e[2]["stream"] == "stderr"
    assert e[0]["time"] == "2023-11-14T22:13:20.123456789Z"


def test_partial_lines_join_until_newline_or_flush(tmp_path):
    p = tmp_path / "c.log"
    w = JsonFileWriter(str(p))
    w.write("stdout", b"hel")
    w.write("stdout", b"lo\nwor")
    assert [x["log"] for x in entries(p)] == ["hello\n"]
    w.flush("stdout")
    assert [x["log"] for x in entries(p)] == ["hello\n", "wor"]
    w.close()


def test_invalid_utf8_is_replaced(tmp_path):
    p = tmp_path / "c.log"
    w = JsonFileWriter(str(p))
    w.write("stdout", b"\xff\n")
    w.close()
    assert entries(p)[0]["log"] == "\ufffd\n"


def test_time_format():
    assert rfc3339_ns(0) == "1970-01-01T00:00:00.000000000Z"
