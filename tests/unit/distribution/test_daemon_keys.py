import json

import pytest

from dockyard.daemon.config import parse_args
from dockyard.errors import InvalidParameter


def test_registry_keys_from_daemon_json(tmp_path):
    f = tmp_path / "daemon.json"
    f.write_text(json.dumps({"insecure-registries": ["myreg:5000"], "registry-mirrors": ["https://m.example"],
                             "max-concurrent-downloads": 6, "max-concurrent-uploads": 2}))
    cfg = parse_args(["--config-file", str(f)])
    assert cfg.insecure_registries == ["myreg:5000"] and cfg.registry_mirrors == ["https://m.example"]
    assert (cfg.max_concurrent_downloads, cfg.max_concurrent_uploads) == (6, 2)
    f.write_text(json.dumps({"max-concurrent-downloads": 0}))
    with pytest.raises(InvalidParameter):
        parse_args(["--config-file", str(f)])
    f.write_text(json.dumps({"registry-mirrors": "https://m.example"}))
    with pytest.raises(InvalidParameter):
        parse_args(["--config-file", str(f)])
