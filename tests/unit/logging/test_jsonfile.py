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


# --- options: rotation, compression, attributes (Docker's json-file options) ---------------

import gzip  # noqa: E402
import os  # noqa: E402

import pytest  # noqa: E402

from dockyard import errors  # noqa: E402
from dockyard.logging import drivers  # noqa: E402
from dockyard.logging.options import Info  # noqa: E402


def test_rotation_keeps_max_file_generations_compressed_in_dockers_names(tmp_path):
    p = tmp_path / "c-json.log"
    w = JsonFileWriter(str(p), {"max-size": "1k", "max-file": "3", "compress": "true"})
    for i in range(100):
        w.write("stdout", b"line %03d\n" % i, now_ns=1_700_000_000_000_000_000)
    w.close()
    assert sorted(os.listdir(tmp_path)) == ["c-json.log", "c-json.log.1.gz", "c-json.log.2.gz"]
    assert os.path.getsize(p) <= 1000
    older = [json.loads(line) for line in gzip.open(str(p) + ".1.gz")]
    newest = entries(p)
    assert older[-1]["log"] == "line %03d\n" % (int(newest[0]["log"][5:8]) - 1)  # generations are contiguous
    assert newest[-1]["log"] == "line 099\n"


def test_a_new_writer_goes_on_with_the_size_on_disk(tmp_path):
    # the supervisor that adopts a container after a restart keeps rotating at the same point
    p = tmp_path / "c-json.log"
    cfg = {"max-size": "1k", "max-file": "2"}
    for _ in range(2):
        w = JsonFileWriter(str(p), cfg)
        for i in range(6):
            w.write("stdout", b"x" * 80 + b"\n")
        w.close()
    assert os.path.exists(str(p) + ".1") and os.path.getsize(p) <= 1000


def test_labels_env_and_tag_go_in_attrs_as_docker_writes_them(tmp_path):
    p = tmp_path / "c-json.log"
    info = Info(id="a" * 64, name="web", labels={"app": "shop", "tier": "db"}, env=["REGION=eu", "X=1"])
    w = JsonFileWriter(str(p), {"labels": "app", "env": "REGION", "tag": "{{.Name}}/{{.ID}}"}, info)
    w.write("stdout", b"hi\n", now_ns=0)
    w.close()
    raw = open(p, "rb").read()
    assert raw == (b'{"log":"hi\\n","stream":"stdout","attrs":{"app":"shop","REGION":"eu","tag":"web/aaaaaaaaaaaa"},'
                   b'"time":"1970-01-01T00:00:00.000000000Z"}\n')


def test_rotation_is_on_by_default_and_minus_one_turns_it_off():
    d = drivers.get("json-file")
    assert d.validate({}) == {"max-size": "20m", "max-file": "5"}
    assert d.validate({"max-size": "1k"}) == {"max-size": "1k", "max-file": "5"}
    assert d.validate({"max-size": "-1"}) == {}


@pytest.mark.parametrize("config,message", [
    ({"foo": "1"}, "unknown log opt 'foo' for json-file log driver"),
    ({"max-size": "lots"}, "invalid size: 'lots'"),
    ({"max-file": "0"}, "max-file cannot be less than 1"),
    ({"max-size": "1k", "max-file": "1", "compress": "true"},
     "compress cannot be true when max-file is less than 2 or max-size is not set"),
    ({"compress": "maybe"}, 'parsing "maybe": invalid syntax'),
    ({"tag": "{{.Nope}}"}, "can't evaluate field Nope"),
    ({"mode": "sometimes"}, "unknown log mode"),
])
def test_bad_options_are_refused_with_dockers_messages(config, message):
    with pytest.raises(errors.InvalidParameter, match=message.replace("(", r"\(").replace(".", r"\.")):
        drivers.get("json-file").validate(config)


def test_the_daemons_default_options_apply_to_its_default_driver_only():
    eff = drivers.effective({"Type": "", "Config": {"max-file": "2"}}, "json-file", {"max-size": "5m"})
    assert eff == {"Type": "json-file", "Config": {"max-size": "5m", "max-file": "2"}}
    eff = drivers.effective({"Type": "local"}, "json-file", {"labels": "x"})
    assert eff == {"Type": "local", "Config": {}}
