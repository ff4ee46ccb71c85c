"""Blob endpoints and upload sessions: monolithic, POST+PUT, chunked PATCH, resume status, cancel, mounts."""
from __future__ import annotations

import os

from .conftest import Registry, digest, error_code


def test_base_endpoint_has_the_version_header(reg: Registry) -> None:
    r = reg.req("GET", "/v2/")
    assert r.status_code == 200
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_monolithic_upload_then_head_get_and_ranges(reg: Registry) -> None:
    data = os.urandom(100_000)
    d = digest(data)
    r = reg.req("POST", f"/v2/a/b/blobs/uploads/?digest={d}", data=data)
    assert r.status_code == 201
    assert r.headers["Location"] == f"/v2/a/b/blobs/{d}"
    assert r.headers["Docker-Content-Digest"] == d
    h = reg.req("HEAD", f"/v2/a/b/blobs/{d}")
    assert h.status_code == 200 and h.headers["Content-Length"] == str(len(data))
    assert h.headers["Docker-Content-Digest"] == d
    g = reg.req("GET", f"/v2/a/b/blobs/{d}")
    assert g.content == data
    p = reg.req("GET", f"/v2/a/b/blobs/{d}", headers={"Range": "bytes=10-19"})
    assert p.status_code == 206 and p.content == data[10:20]
    assert p.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    tail = reg.req("GET", f"/v2/a/b/blobs/{d}", headers={"Range": "bytes=-5"})
    assert tail.content == data[-5:]
    bad = reg.req("GET", f"/v2/a/b/blobs/{d}", headers={"Range": f"bytes={len(data)}-"})
    assert bad.status_code == 416


def test_blob_is_visible_only_in_the_repository_it_was_pushed_to(reg: Registry) -> None:
    d = reg.push_blob("one", b"hello")
    r = reg.req("HEAD", f"/v2/two/blobs/{d}")
    assert r.status_code == 404
    g = reg.req("GET", f"/v2/two/blobs/{d}")
    assert error_code(g) == "BLOB_UNKNOWN"


def test_post_then_put_and_digest_mismatch_stores_nothing(reg: Registry) -> None:
    r = reg.req("POST", "/v2/x/blobs/uploads/")
    assert r.status_code == 202
    assert r.headers["Range"] == "0-0" and r.headers["Docker-Upload-UUID"]
    loc = r.headers["Location"]
    wrong = digest(b"other")
    p = reg.req("PUT", f"{loc}?digest={wrong}", data=b"content")
    assert p.status_code == 400 and error_code(p) == "DIGEST_INVALID"
    assert reg.req("HEAD", f"/v2/x/blobs/{wrong}").status_code == 404
    assert reg.req("HEAD", f"/v2/x/blobs/{digest(b'content')}").status_code == 404
    assert not list((reg.root / "blobs").rglob("*")) if (reg.root / "blobs").exists() else True
    # the session is gone after a failed commit
    assert error_code(reg.req("GET", loc)) == "BLOB_UPLOAD_UNKNOWN"
    r = reg.req("POST", "/v2/x/blobs/uploads/")
    p = reg.req("PUT", f"{r.headers['Location']}?digest={digest(b'content')}", data=b"content")
    assert p.status_code == 201


def test_chunked_upload_with_content_range_status_and_resume(reg: Registry) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    r = reg.req("POST", "/v2/c/blobs/uploads/")
    loc = r.headers["Location"]
    parts = [data[: 1024 * 1024], data[1024 * 1024: 2 * 1024 * 1024], data[2 * 1024 * 1024:]]
    offset = 0
    for part in parts[:2]:
        p = reg.req("PATCH", loc, data=part, headers={"Content-Range": f"{offset}-{offset + len(part) - 1}",
                                                     "Content-Type": "application/octet-stream"})
        assert p.status_code == 202, p.text
        offset += len(part)
        assert p.headers["Range"] == f"0-{offset - 1}"
        loc = p.headers["Location"]
    # resumable status: GET on the session
    s = reg.req("GET", loc)
    assert s.status_code == 204 and s.headers["Range"] == f"0-{offset - 1}"
    # an out-of-order chunk is refused with 416 and changes nothing
    bad = reg.req("PATCH", loc, data=b"xx", headers={"Content-Range": "5-6"})
    assert bad.status_code == 416
    assert reg.req("GET", loc).headers["Range"] == f"0-{offset - 1}"
    # a streamed (chunked transfer-encoding) chunk without Content-Range
    p = reg.req("PATCH", loc, data=iter([parts[2][:100], parts[2][100:]]))
    assert p.status_code == 202
    done = reg.req("PUT", f"{loc}?digest={digest(data)}")
    assert done.status_code == 201
    assert reg.req("GET", f"/v2/c/blobs/{digest(data)}").content == data


def test_final_chunk_in_put_and_cancel(reg: Registry) -> None:
    r = reg.req("POST", "/v2/c/blobs/uploads/")
    loc = r.headers["Location"]
    reg.req("PATCH", loc, data=b"abc")
    done = reg.req("PUT", f"{loc}?digest={digest(b'abcdef')}", data=b"def")
    assert done.status_code == 201
    r = reg.req("POST", "/v2/c/blobs/uploads/")
    loc = r.headers["Location"]
    assert reg.req("DELETE", loc).status_code == 204
    assert error_code(reg.req("PATCH", loc, data=b"x")) == "BLOB_UPLOAD_UNKNOWN"


def test_unknown_or_foreign_upload_sessions(reg: Registry) -> None:
    assert error_code(reg.req("GET", "/v2/c/blobs/uploads/00000000-0000-0000-0000-000000000000")) == \
        "BLOB_UPLOAD_UNKNOWN"
    assert error_code(reg.req("PATCH", "/v2/c/blobs/uploads/..%2f..%2fetc", data=b"x")) == "BLOB_UPLOAD_UNKNOWN"
    loc = reg.req("POST", "/v2/mine/blobs/uploads/").headers["Location"]
    other = loc.replace("/v2/mine/", "/v2/theirs/")
    assert error_code(reg.req("PUT", f"{other}?digest={digest(b'')}")) == "BLOB_UPLOAD_UNKNOWN"
    assert error_code(reg.req("PUT", loc)) == "DIGEST_INVALID"  # digest parameter missing


def test_cross_repository_and_anonymous_mount(reg: Registry) -> None:
    d = reg.push_blob("src", b"shared layer")
    r = reg.req("POST", f"/v2/dst/blobs/uploads/?mount={d}&from=src")
    assert r.status_code == 201 and r.headers["Docker-Content-Digest"] == d
    assert reg.req("GET", f"/v2/dst/blobs/{d}").content == b"shared layer"
    r = reg.req("POST", f"/v2/anon/blobs/uploads/?mount={d}")
    assert r.status_code == 201
    missing = digest(b"nobody has this")
    r = reg.req("POST", f"/v2/dst2/blobs/uploads/?mount={missing}&from=src")
    assert r.status_code == 202 and "/blobs/uploads/" in r.headers["Location"]
    r = reg.req("POST", f"/v2/dst3/blobs/uploads/?mount={d}&from=nosuchrepo")
    assert r.status_code == 202


def test_delete_blob_unlinks_it_from_the_repository(reg: Registry) -> None:
    d = reg.push_blob("del", b"bye")
    assert reg.req("DELETE", f"/v2/del/blobs/{d}").status_code == 202
    assert reg.req("HEAD", f"/v2/del/blobs/{d}").status_code == 404
    assert error_code(reg.req("DELETE", f"/v2/del/blobs/{d}")) == "BLOB_UNKNOWN"


def test_invalid_digests_and_names(reg: Registry) -> None:
    assert error_code(reg.req("HEAD" if False else "GET", "/v2/a/blobs/sha256:xyz")) == "DIGEST_INVALID"
    assert error_code(reg.req("GET", "/v2/UPPER/tags/list")) == "NAME_INVALID"
    assert error_code(reg.req("POST", "/v2/a/blobs/uploads/?digest=md5:abc", data=b"x")) == "DIGEST_INVALID"


def test_path_traversal_in_names_is_name_invalid(reg: Registry) -> None:
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", int(reg.url.rsplit(":", 1)[1]), timeout=10)
    for path in ("/v2/../../etc/tags/list", "/v2/a/../b/blobs/uploads/", "/v2/a/%2e%2e/b/tags/list",
                 "/v2/./a/manifests/latest"):
        conn.request("GET" if "tags" in path or "manifests" in path else "POST", path)
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 400 and b"NAME_INVALID" in body, (path, resp.status, body)
    assert not (reg.root / "repositories").exists() or not any((reg.root / "repositories").iterdir())


def test_keep_alive_serves_many_requests_on_one_connection(reg: Registry) -> None:
    import http.client
    d = reg.push_blob("ka", b"k" * 10)
    conn = http.client.HTTPConnection("127.0.0.1", int(reg.url.rsplit(":", 1)[1]), timeout=10)
    for _ in range(50):
        conn.request("HEAD", f"/v2/ka/blobs/{d}")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        conn.request("GET", f"/v2/ka/blobs/{d}")
        r = conn.getresponse()
        assert r.read() == b"k" * 10
