"""The remote API over TCP with mutual TLS (issue 14): the docker CLI, docker-py and our CLI with a
test CA made by trustme; clients without a CA-signed certificate refused at the handshake; several
-H at once; the daemon.json keys; plain TCP refused off loopback unless forced."""
from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import docker
import pytest
import trustme

from tests.support.daemon import REPO, TestDaemon, import_busybox


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1/localhost, and a client directory as the docker CLI
    reads it (DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem)."""
    base = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(base / "ca.pem"))
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(str(base / "server-cert.pem"))
    server.private_key_pem.write_to_path(str(base / "server-key.pem"))
    client_dir = base / "client"
    client_dir.mkdir()
    client = ca.issue_cert("dockyard-test-client")
    ca.cert_pem.write_to_path(str(client_dir / "ca.pem"))
    client.cert_chain_pems[0].write_to_path(str(client_dir / "cert.pem"))
    client.private_key_pem.write_to_path(str(client_dir / "key.pem"))
    # a client whose certificate another CA signed
    rogue_dir = base / "rogue"
    rogue_dir.mkdir()
    other = trustme.CA().issue_cert("rogue-client")
    ca.cert_pem.write_to_path(str(rogue_dir / "ca.pem"))
    other.cert_chain_pems[0].write_to_path(str(rogue_dir / "cert.pem"))
    other.private_key_pem.write_to_path(str(rogue_dir / "key.pem"))
    return base


def _argv(d: TestDaemon, *extra: str) -> list[str]:
    return [sys.executable, "-m", "dockyard.daemon.main", "--data-root", str(d.data_root),
            "--exec-root", str(d.exec_root), "--config-file", str(d.config_file), "--log-level", "debug",
            *extra]


@pytest.fixture(scope="module")
def tls_daemon(pki):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    d = TestDaemon()
    d.port = _free_port()
    try:
        d.start(argv=_argv(d, "-H", d.host, "-H", f"tcp://127.0.0.1:{d.port}", "--tlsverify",
                           "--tlscacert", str(pki / "ca.pem"), "--tlscert", str(pki / "server-cert.pem"),
                           "--tlskey", str(pki / "server-key.pem")))
        import_busybox(d)
        yield d
    finally:
        d.cleanup()


def _tls_env(d: TestDaemon, cert_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKYARD_HOST", "DOCKER_HOST")}
    env.update(DOCKER_HOST=f"tcp://127.0.0.1:{d.port}", DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(cert_dir),
               DOCKER_CONFIG=str(d.base / "docker-config"))
    return env


def _run(argv: list[str], env: dict[str, str], input: bytes | None = None, timeout: float = 60):
    return subprocess.run(argv, env=env, input=input, capture_output=True, timeout=timeout, cwd=REPO)


def test_docker_cli_over_mutual_tls(tls_daemon, pki):
    env = _tls_env(tls_daemon, pki / "client")
    r = _run(["docker", "version", "--format", "{{.Server.APIVersion}}"], env)
    assert r.returncode == 0 and r.stdout.strip() == b"1.41", r.stderr
    r = _run(["docker", "run", "--rm", "busybox", "echo", "hello over tls"], env)
    assert r.returncode == 0 and r.stdout == b"hello over tls\n", r.stderr
    # stdin ends with the CLI's close_notify (Go's CloseWrite); the output still comes back
    r = _run(["docker", "run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done"], env, input=b"piped in\n")
    assert r.returncode == 0 and r.stdout == b"piped in\ndone\n", r.stderr


def test_the_unix_socket_serves_alongside(tls_daemon):
    r = tls_daemon.docker("version", "--format", "{{.Server.APIVersion}}")
    assert r.returncode == 0 and r.stdout.strip() == b"1.41", r.stderr


def test_docker_py_with_tlsconfig(tls_daemon, pki, monkeypatch):
    # requests lets these variables override the session's CA bundle (docker-py's ca_cert)
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    tls = docker.tls.TLSConfig(client_cert=(str(pki / "client" / "cert.pem"), str(pki / "client" / "key.pem")),
                               ca_cert=str(pki / "ca.pem"), verify=True)
    client = docker.DockerClient(base_url=f"tcp://127.0.0.1:{tls_daemon.port}", tls=tls, version="1.41",
                                 timeout=60)
    try:
        assert client.ping()
        out = client.containers.run("busybox", ["echo", "from docker-py"], remove=True)
        assert out == b"from docker-py\n"
        c = client.containers.run("busybox", ["sleep", "30"], detach=True)
        try:
            code, output = c.exec_run(["sh", "-c", "echo exec over tls"])
            assert (code, output) == (0, b"exec over tls\n")
        finally:
            c.remove(force=True)
    finally:
        client.close()


def _handshake_refused(port: int, cert_dir: Path | None, ca: Path) -> bool:
    """True if the daemon answers no HTTP to a TLS client with these credentials (TLS 1.3 reports a
    refused client certificate on the client's first read)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    if cert_dir is not None:
        ctx.load_cert_chain(str(cert_dir / "cert.pem"), str(cert_dir / "key.pem"))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
                return not s.recv(64).startswith(b"HTTP/")
    except (ssl.SSLError, ConnectionError):
        return True


def test_clients_without_a_ca_signed_certificate_are_refused_at_the_handshake(tls_daemon, pki):
    assert not _handshake_refused(tls_daemon.port, pki / "client", pki / "ca.pem")
    assert _handshake_refused(tls_daemon.port, None, pki / "ca.pem")
    assert _handshake_refused(tls_daemon.port, pki / "rogue", pki / "ca.pem")
    r = _run(["docker", "version"], _tls_env(tls_daemon, pki / "rogue"))
    assert r.returncode != 0
    # plain HTTP on the TLS port gets no answer either
    with socket.create_connection(("127.0.0.1", tls_daemon.port), timeout=10) as s:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
        assert not s.recv(64).startswith(b"HTTP/1.1 200")
    # the daemon is unharmed
    assert not _handshake_refused(tls_daemon.port, pki / "client", pki / "ca.pem")


def _dockyard(env: dict[str, str], *args: str, input: bytes | None = None):
    return _run([sys.executable, "-m", "dockyard.cli.main", *args], env, input=input)


def test_our_cli_with_flags(tls_daemon, pki):
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKYARD_HOST", "DOCKER_HOST",
                                                             "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")}
    flags = ["-H", f"tcp://127.0.0.1:{tls_daemon.port}", "--tlsverify", "--tlscacert", str(pki / "ca.pem"),
             "--tlscert", str(pki / "client" / "cert.pem"), "--tlskey", str(pki / "client" / "key.pem")]
    r = _dockyard(env, *flags, "version", "--format", "{{.Server.ApiVersion}}")
    assert r.returncode == 0 and r.stdout.strip() == b"1.41", r.stderr
    r = _dockyard(env, *flags, "run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done", input=b"in\n")
    assert r.returncode == 0 and r.stdout == b"in\ndone\n", r.stderr
    # without a client certificate: refused
    r = _dockyard(env, "-H", f"tcp://127.0.0.1:{tls_daemon.port}", "--tlsverify", "--tlscacert",
                  str(pki / "ca.pem"), "version")
    assert r.returncode != 0


def test_our_cli_with_docker_variables_streams_and_hijacks(tls_daemon, pki):
    env = _tls_env(tls_daemon, pki / "client")
    r = _dockyard(env, "run", "-d", "--name", "dytest-tlslogs", "busybox", "sh", "-c",
                  "echo one; sleep 1; echo two; sleep 30")
    assert r.returncode == 0, r.stderr
    try:
        # logs -f over TLS: both lines arrive while the container runs
        proc = subprocess.Popen([sys.executable, "-m", "dockyard.cli.main", "logs", "-f", "dytest-tlslogs"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
        try:
            assert proc.stdout.readline() == b"one\n"
            assert proc.stdout.readline() == b"two\n"
        finally:
            proc.kill()
            proc.wait()
        # exec -it over TLS, on a real terminal
        import pexpect

        child = pexpect.spawn(sys.executable, ["-m", "dockyard.cli.main", "exec", "-it", "dytest-tlslogs", "sh"],
                              env=env, cwd=str(REPO), timeout=30)
        try:
            child.expect(r"[#$] ")
            child.sendline("echo $((6*7))")
            child.expect("42")
            child.sendline("exit")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
    finally:
        _dockyard(env, "rm", "-f", "dytest-tlslogs")


def test_daemon_json_keys_configure_hosts_and_tls(pki):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    port = _free_port()
    d = TestDaemon()
    cfg = json.loads(d.config_file.read_text())
    cfg.update({"hosts": [d.host, f"tcp://127.0.0.1:{port}"], "tlsverify": True,
                "tlscacert": str(pki / "ca.pem"), "tlscert": str(pki / "server-cert.pem"),
                "tlskey": str(pki / "server-key.pem")})
    d.config_file.write_text(json.dumps(cfg))
    try:
        d.start(argv=_argv(d))
        assert not _handshake_refused(port, pki / "client", pki / "ca.pem")
        assert _handshake_refused(port, None, pki / "ca.pem")
    finally:
        d.cleanup()


def _start_fails(d: TestDaemon, *flags: str) -> str:
    proc = subprocess.run(_argv(d, *flags), capture_output=True, timeout=60, cwd=REPO)
    assert proc.returncode != 0
    return proc.stderr.decode()


def test_plain_tcp_off_loopback_is_refused_unless_forced(tmp_path):
    d = TestDaemon(base=tmp_path)
    err = _start_fails(d, "-H", d.host, "-H", "tcp://0.0.0.0:2375")
    assert "Binding to IP address without --tlsverify is insecure" in err
    assert "'--tls=false' or '--tlsverify=false'" in err
    assert not (tmp_path / "data" / "metadata.db").exists()  # refused before any state was made


def test_plain_tcp_on_loopback_warns_and_serves(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    d = TestDaemon()
    port = _free_port()
    try:
        d.start(argv=_argv(d, "-H", d.host, "-H", f"tcp://127.0.0.1:{port}"))
        assert "Binding to IP address without --tlsverify is insecure" in d.log_path.read_text()
        r = subprocess.run(["docker", "-H", f"tcp://127.0.0.1:{port}", "version", "--format",
                            "{{.Server.APIVersion}}"], capture_output=True, timeout=60,
                           env={**os.environ, "DOCKER_CONFIG": str(d.base / "docker-config")})
        assert r.returncode == 0 and r.stdout.strip() == b"1.41", r.stderr
    finally:
        d.cleanup()


def test_missing_tls_files_stop_the_daemon_with_a_message(tmp_path):
    d = TestDaemon(base=tmp_path)
    err = _start_fails(d, "-H", d.host, "-H", "tcp://127.0.0.1:0", "--tlsverify",
                       "--tlscert", str(tmp_path / "nope.pem"), "--tlskey", str(tmp_path / "nope-key.pem"))
    assert "Could not load X509 key pair" in err and "nope.pem" in err
