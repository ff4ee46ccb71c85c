"""Container list filters: name is a regex over the names with their slash, and the others."""
from __future__ import annotations


def test_container_filters(pair, clean):
    clean["containers"] += ["web", "web2", "dytc-f1", "dytc-f2"]

    def setup(s):
        s.api.create_container("busybox", ["true"], name="web", labels={"tier": "front", "x": ""})
        s.api.create_container("busybox", ["sleep", "300"], name="web2", labels={"tier": "back"})
        s.api.start("web2")
        s.api.create_container("busybox", ["sh", "-c", "exit 3"], name="dytc-f1")
        s.api.start("dytc-f1")
        s.api.wait("dytc-f1")
        s.api.create_container("busybox", ["true"], name="dytc-f2")
    pair.each(setup)
    for f in ({"name": ["^/web$"]}, {"name": ["web"]}, {"name": ["/web"]}, {"name": ["eb2$"]},
              {"name": ["^web"]}, {"name": ["dytc-f[12]"]},
              {"label": ["tier"]}, {"label": ["tier=front"]}, {"label": ["x="]},
              {"label": ["tier", "tier=back"]},
              {"status": ["exited"]}, {"status": ["created"]}, {"status": ["running"]},
              {"exited": ["3"]}, {"exited": ["0"]}, {"ancestor": ["busybox"]},
              {"ancestor": ["busybox:latest"]}, {"before": ["dytc-f1"]}, {"since": ["web2"]},
              {"name": ["web"], "status": ["running"]}, {"volume": ["/nope"]},
              {"network": ["bridge"]}, {"is-task": ["false"]}, {"health": ["none"]}):
        pair.same(f"containers.list(filters={f})", lambda s: sorted(
            c["Names"][0] for c in s.api.containers(all=True, filters=f)))
    for bad in ('{"status":["bogus"]}', '{"nope":["x"]}', '{"exited":["x"]}',
                '{"before":["dytc-missing"]}', '{"health":["bogus"]}'):
        pair.same(f"containers.list(bad {bad})",
                  lambda s: s.raw("GET", f"/containers/json?all=1&filters={bad}"))
    pair.same("cli ps --filter name", lambda s: s.cli(
        "ps", "-a", "--filter", "name=^/web$", "--format", "{{.Names}}"))
