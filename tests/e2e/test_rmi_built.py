"""rmi of a built image by its name: Docker untags a parent of other images and keeps it."""
from __future__ import annotations

import io
import uuid

import pytest


def _dockerfile(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


@pytest.fixture()
def client(daemon):
    c = daemon.client()
    yield c
    c.close()


def test_rmi_by_name_of_a_parent_image_only_untags_it(client):
    parent, child = (f"dytest-rmi-{uuid.uuid4().hex[:8]}:{t}" for t in ("p", "c"))
    made = []
    try:
        p, _ = client.images.build(fileobj=_dockerfile("FROM busybox\nRUN echo p > /p\n"), tag=parent, rm=True)
        made.append(p.id)
        c, _ = client.images.build(fileobj=_dockerfile(f"FROM {parent}\nRUN echo c > /c\n"), tag=child, rm=True)
        made.append(c.id)
        out = client.api.remove_image(parent)
        assert out == [{"Untagged": parent}]
        # still there by id, as the child's base; by id it is a conflict (Docker's message)
        assert client.images.get(p.id).tags == []
        with pytest.raises(Exception, match="image has dependent child images"):
            client.api.remove_image(p.id)
    finally:
        for ref in (child, *reversed(made)):
            try:
                client.api.remove_image(ref, force=True)
            except Exception:
                pass
