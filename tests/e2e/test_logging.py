"""Log drivers through the real docker CLI: rotation on by default, options checked with Docker's messages,
`logs` across rotated and compressed files, the local and none drivers, and remote drivers (syslog, gelf,
fluentd) delivering to a receiver of the test's own on loopback while `logs` reads the local cache."""
from __future__ import annotations

import gzip
import json
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import msgpack
import pytest

from tests.support.daemon import private_daemon, wait_until

pytestmark = pytest.mark.e2e


def uname() -> str:
    return f"dyl-{uuid.uuid4().hex[:10]}"


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout.decode()


@contextmanager
def container(daemon, *run_args: str) -> Iterator[str]:
    """`docker run -d` with the given flags and command; removed however the test ends."""
    name = uname()
    try:
        ok(daemon.docker("run", "-d", "--name", name, *run_args))
        yield name
    finally:
        daemon.docker("rm", "-f", name)


def inspect(daemon, name: str) -> dict:
    return json.loads(ok(daemon.docker("inspect", name)))[0]


def root_dir(daemon, name: str) -> Path:
    return daemon.data_root / "containers" / inspect(daemon, name)["Id"]


def lines(n: int, width: int = 40) -> str:
    """A shell loop printing `n` numbered lines of about `width` bytes."""
    return f'i=1; while [ $i -le {n} ]; do echo "line $i {"x" * width}"; i=$((i+1)); done'


def numbers(text: str) -> list[int]:
    return [int(line.split()[1]) for line in text.splitlines()]


def test_rotation_by_option_reads_back_across_generations(daemon):
    with container(daemon, "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "busybox",
                   "sh", "-c", lines(300)) as n:
        assert ok(daemon.docker("wait", n)) == "0\n"
        d = root_dir(daemon, n)
        cid = d.name
        assert sorted(p.name for p in d.iterdir() if "json.log" in p.name) == [
            f"{cid}-json.log", f"{cid}-json.log.1", f"{cid}-json.log.2"]
        assert all(p.stat().st_size <= 1000 for p in d.iterdir() if "json.log" in p.name)
        got = numbers(ok(daemon.docker("logs", n)))
        assert got == list(range(got[0], 301)) and 10 < len(got) < 40  # the newest, contiguous
        assert numbers(ok(daemon.docker("logs", "--tail", "12", n))) == list(range(289, 301))
        host = inspect(daemon, n)["HostConfig"]["LogConfig"]
        assert host == {"Type": "json-file", "Config": {"max-size": "1k", "max-file": "3"}}
        assert inspect(daemon, n)["LogPath"] == f"{d}/{cid}-json.log"


def test_rotation_is_on_by_default_and_compressed_generations_read_back(daemon):
    with container(daemon, "busybox", "true") as n:
        cfg = inspect(daemon, n)["HostConfig"]["LogConfig"]
        assert cfg == {"Type": "json-file", "Config": {"max-size": "20m", "max-file": "5"}}
    with container(daemon, "--log-opt", "max-size=5k", "--log-opt", "max-file=4", "--log-opt", "compress=true",
                   "busybox", "sh", "-c", lines(400)) as n:
        assert ok(daemon.docker("wait", n)) == "0\n"
        d = root_dir(daemon, n)
        names = sorted(p.name.split("json.log")[1] for p in d.iterdir() if "json.log" in p.name)
        assert names == ["", ".1.gz", ".2.gz", ".3.gz"]
        rotated = [json.loads(x) for x in gzip.open(next(d.glob("*-json.log.1.gz")))]
        assert rotated[0]["stream"] == "stdout" and rotated[0]["log"].startswith("line ")
        got = numbers(ok(daemon.docker("logs", n)))
        assert got == list(range(got[0], 401)) and len(got) > 100
        assert numbers(ok(daemon.docker("logs", "--tail", "100", n))) == list(range(301, 401))


@pytest.mark.parametrize("args,message", [
    (["--log-driver", "nosuch"], "failed to create logger: logger: no log driver named 'nosuch' is registered"),
    (["--log-opt", "foo=bar"], "unknown log opt 'foo' for json-file log driver"),
    (["--log-driver", "local", "--log-opt", "labels=a"], "unknown log opt 'labels' for local log driver"),
    (["--log-opt", "max-file=0"], "max-file cannot be less than 1"),
    (["--log-driver", "gelf"], "gelf-address is a required parameter"),
    (["--log-driver", "syslog", "--log-opt", "syslog-address=ftp://x"], "unsupported scheme: 'ftp'"),
])
def test_bad_log_config_is_refused_at_create_with_dockers_message(daemon, args, message):
    name = uname()
    p = daemon.docker("create", "--name", name, *args, "busybox", "true")
    daemon.docker("rm", "-f", name)
    assert p.returncode != 0 and message in p.stderr.decode(), p.stderr
    assert name not in ok(daemon.docker("ps", "-a", "--format", "{{.Names}}"))


def test_info_lists_the_drivers(daemon):
    info = json.loads(ok(daemon.docker("info", "--format", "{{json .}}")))
    assert info["Plugins"]["Log"] == ["json-file", "local", "none", "syslog", "gelf", "fluentd", "journald"]
    assert info["LoggingDriver"] == "json-file"


def test_follow_goes_on_across_rotations(daemon):
    script = 'i=1; while [ $i -le 150 ]; do echo "tick $i xxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); sleep 0.02; done'
    with container(daemon, "--log-opt", "max-size=1k", "--log-opt", "max-file=2", "busybox", "sh", "-c", script) as n:
        p = subprocess.run(["docker", "logs", "-f", n], env=daemon.env, capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr
        got = numbers(p.stdout.decode())
        assert got[-1] == 150 and got == list(range(got[0], 151)) and len(got) > 100  # ~20 rotations


def test_local_driver_reads_back_and_rotates_by_default(daemon):
    with container(daemon, "--log-driver", "local", "busybox", "sh", "-c", lines(50) + "; echo err >&2") as n:
        assert ok(daemon.docker("wait", n)) == "0\n"
        p = daemon.docker("logs", n)
        assert numbers(p.stdout.decode()) == list(range(1, 51)) and p.stderr == b"err\n"
        assert numbers(ok(daemon.docker("logs", "--tail", "3", n))) == [49, 50]
        assert inspect(daemon, n)["HostConfig"]["LogConfig"] == {"Type": "local", "Config": {}}
        assert (root_dir(daemon, n) / "local-logs" / "container.log").stat().st_size > 50 * 40
    with container(daemon, "--log-driver", "local", "--log-opt", "max-size=1k", "--log-opt", "compress=false",
                   "busybox", "sh", "-c", lines(300)) as n:
        assert ok(daemon.docker("wait", n)) == "0\n"
        files = sorted(p.name for p in (root_dir(daemon, n) / "local-logs").iterdir())
        assert files == ["container.log", "container.log.1", "container.log.2", "container.log.3", "container.log.4"]
        got = numbers(ok(daemon.docker("logs", n)))
        assert got == list(range(got[0], 301))


def test_none_driver_keeps_nothing(daemon):
    with container(daemon, "--log-driver", "none", "busybox", "echo", "hi") as n:
        assert ok(daemon.docker("wait", n)) == "0\n"
        p = daemon.docker("logs", n)
        assert p.returncode != 0 and "configured logging driver does not support reading" in p.stderr.decode()
        assert not any("log" in p.name for p in root_dir(daemon, n).iterdir())


# --- remote drivers, each against a receiver on loopback ----------------------------------------

class Receiver:
    """A socket server of the test's own: collects what arrives (datagrams, or a stream's bytes)."""

    def __init__(self, kind: int) -> None:
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.packets: list[bytes] = []
        self.stream = bytearray()
        if kind == socket.SOCK_STREAM:
            self.sock.listen()
        self.sock.settimeout(0.2)
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop:
            try:
                if self.sock.type == socket.SOCK_DGRAM:
                    self.packets.append(self.sock.recv(65536))
                    continue
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(0.2)
            while not self.stop:
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                self.stream += data
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join(5)
        self.sock.close()


@contextmanager
def receiver(kind: int) -> Iterator[Receiver]:
    r = Receiver(kind)
    try:
        yield r
    finally:
        r.close()


def test_syslog_rfc5424_over_udp_and_logs_from_the_cache(daemon):
    with receiver(socket.SOCK_DGRAM) as r, container(
            daemon, "--log-driver", "syslog", "--log-opt", f"syslog-address=udp://127.0.0.1:{r.port}",
            "--log-opt", "syslog-format=rfc5424", "--log-opt", "tag={{.Name}}", "--log-opt", "syslog-facility=local3",
            "busybox", "sh", "-c", "echo hello; echo oops >&2") as n:
        assert ok(daemon.docker("wait", n)) == "0\n"
        wait_until(lambda: len(r.packets) >= 2, "two syslog datagrams")
        msgs = sorted(p.decode() for p in r.packets)
        # <PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG; local3 = 19: info 19*8+6, err 19*8+3
        assert msgs[0].startswith("<155>1 ") and msgs[0].endswith(f" {n} - oops")
        assert msgs[1].startswith("<158>1 ") and msgs[1].endswith(f" {n} - hello")
        assert msgs[1].split()[3] == n
        p = daemon.docker("logs", n)
        assert (p.stdout, p.stderr) == (b"hello\n", b"oops\n")  # dual logging


def test_syslog_rfc3164_over_tcp_is_newline_framed(daemon):
    with receiver(socket.SOCK_STREAM) as r, container(
            daemon, "--log-driver", "syslog", "--log-opt", f"syslog-address=tcp://127.0.0.1:{r.port}",
            "--log-opt", "syslog-format=rfc3164", "busybox", "sh", "-c", "echo one; echo two") as n:
        cid = inspect(daemon, n)["Id"]
        wait_until(lambda: r.stream.count(b"\n") >= 2, "two syslog lines over tcp")
        first, second = r.stream.decode().splitlines()[:2]
        # daemon (3) * 8 + info (6); Go's time.Stamp, the host, the default tag {{.ID}}, the pid
        assert re.fullmatch(r"<30>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ " + cid[:12] + r"\[\d+\]: one", first), first
        assert second.endswith("]: two")


def _gelf_messages(packets: list[bytes]) -> list[dict]:
    """Reassemble chunked GELF datagrams and decompress them."""
    chunks: dict[bytes, dict[int, bytes]] = {}
    whole = []
    for p in packets:
        if p[:2] == b"\x1e\x0f":
            parts = chunks.setdefault(p[2:10], {})
            parts[p[10]] = p[12:]
            if len(parts) == p[11]:
                whole.append(b"".join(parts[i] for i in range(p[11])))
        else:
            whole.append(p)
    out = []
    for body in whole:
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        elif body[:1] == b"\x78":
            body = zlib.decompress(body)
        out.append(json.loads(body))
    return out


def test_gelf_over_udp_chunks_and_compresses(daemon):
    big = "y" * 5000  # uncompressed, more than three 1420-byte chunks
    with receiver(socket.SOCK_DGRAM) as r, container(
            daemon, "--log-driver", "gelf", "--log-opt", f"gelf-address=udp://127.0.0.1:{r.port}",
            "--log-opt", "gelf-compression-type=none", "--log-opt", "labels=team", "--label", "team=blue",
            "busybox", "sh", "-c", f"echo small; echo {big}") as n:
        wait_until(lambda: len(_gelf_messages(r.packets)) >= 2, "two gelf messages")
        msgs = _gelf_messages(r.packets)
        assert [m["short_message"] for m in msgs] == ["small", big]
        assert len(r.packets) >= 1 + 4  # the big one went in chunks
        m = msgs[0]
        assert m["version"] == "1.1" and m["level"] == 6 and m["_container_name"] == n and m["_team"] == "blue"
    with receiver(socket.SOCK_DGRAM) as r, container(
            daemon, "--log-driver", "gelf", "--log-opt", f"gelf-address=udp://127.0.0.1:{r.port}",
            "busybox", "sh", "-c", "echo zipped >&2") as n:
        wait_until(lambda: len(r.packets) >= 1, "a gelf datagram")
        assert r.packets[0][:2] == b"\x1f\x8b"  # gzip is the default
        assert _gelf_messages(r.packets)[0]["short_message"] == "zipped"
        assert _gelf_messages(r.packets)[0]["level"] == 3


def test_gelf_over_tcp_is_null_terminated(daemon):
    with receiver(socket.SOCK_STREAM) as r, container(
            daemon, "--log-driver", "gelf", "--log-opt", f"gelf-address=tcp://127.0.0.1:{r.port}",
            "busybox", "sh", "-c", "echo a; echo b") as n:
        wait_until(lambda: r.stream.count(b"\0") >= 2, "two gelf messages over tcp")
        msgs = [json.loads(x) for x in bytes(r.stream).split(b"\0") if x]
        assert [m["short_message"] for m in msgs] == ["a", "b"]
        assert ok(daemon.docker("logs", n)) == "a\nb\n"


def test_fluentd_forward_protocol(daemon):
    with receiver(socket.SOCK_STREAM) as r, container(
            daemon, "--log-driver", "fluentd", "--log-opt", f"fluentd-address=127.0.0.1:{r.port}",
            "--log-opt", "tag=docker.{{.Name}}", "--log-opt", "fluentd-sub-second-precision=true",
            "busybox", "sh", "-c", "echo first; echo second >&2") as n:
        cid = inspect(daemon, n)["Id"]

        def events() -> list:
            u = msgpack.Unpacker()
            u.feed(bytes(r.stream))
            return list(u)
        wait_until(lambda: len(events()) >= 2, "two fluentd events")
        (tag, when, rec), (_t2, _w2, rec2) = events()[:2]
        assert tag == f"docker.{n}" and isinstance(when, msgpack.ExtType) and when.code == 0
        assert rec == {"container_id": cid, "container_name": f"/{n}", "source": "stdout", "log": "first"}
        assert rec2["source"] == "stderr" and rec2["log"] == "second"


def test_a_dead_receiver_never_blocks_the_container(daemon):
    # nobody listens: the container runs to its end at its own pace, logs read from the cache,
    # and the supervisor's log says what was dropped
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with container(daemon, "--log-driver", "fluentd", "--log-opt", f"fluentd-address=127.0.0.1:{port}",
                   "--log-opt", "fluentd-async=true", "--log-opt", "mode=non-blocking",
                   "--log-opt", "max-buffer-size=4k", "--log-opt", "fluentd-retry-wait=50ms",
                   "busybox", "sh", "-c", lines(2000)) as n:
        assert ok(daemon.docker("wait", n)) == "0\n"
        assert numbers(ok(daemon.docker("logs", "--tail", "1", n))) == [2000]
        log = daemon.exec_root / "supervisor.log"
        wait_until(lambda: "dropped" in log.read_text(), "a report of dropped messages")


# --- a daemon of its own: default options from daemon.json, rotation after a restart ---------------

@pytest.fixture()
def small_logs_daemon():
    with private_daemon(extra_config={"log-opts": {"max-size": "2k", "max-file": "2"}}) as d:
        yield d


def test_daemon_json_defaults_and_rotation_survive_a_daemon_restart(small_logs_daemon):
    d = small_logs_daemon
    script = 'i=1; while [ $i -le 400 ]; do echo "beat $i xxxxxxxxxxxxxxxx"; i=$((i+1)); sleep 0.01; done'
    with container(d, "busybox", "sh", "-c", script) as n:
        assert inspect(d, n)["HostConfig"]["LogConfig"]["Config"] == {"max-size": "2k", "max-file": "2"}
        wait_until(lambda: len(ok(d.docker("logs", n)).splitlines()) > 5, "some output")
        d.kill(signal.SIGKILL)  # the supervisor keeps the container and goes on writing its log
        time.sleep(1)
        d.start()
        assert ok(d.docker("wait", n)) == "0\n"
        got = numbers(ok(d.docker("logs", n)))
        assert got == list(range(got[0], 401))
        files = [p for p in root_dir(d, n).iterdir() if "json.log" in p.name]
        assert len(files) == 2 and all(p.stat().st_size <= 2000 for p in files)
