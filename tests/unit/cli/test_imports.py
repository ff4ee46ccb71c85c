"""The CLI is a client of the API only: no daemon module, no docker-py, no rich at start-up."""
import subprocess
import sys

MODULES = ["dockyard.cli.main", "dockyard.cli.commands.run", "dockyard.cli.commands.containers",
           "dockyard.cli.commands.images", "dockyard.cli.commands.system", "dockyard.cli.hijack"]


def test_cli_imports_no_daemon_module():
    code = ("import sys; " + "; ".join(f"import {m}" for m in MODULES) +
            "; print('\\n'.join(sorted(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # dockyard.timefmt is a leaf of pure formatting shared with the daemon (no daemon code)
    ours = [m for m in loaded if m.startswith("dockyard.") and not m.startswith("dockyard.cli")
            and m != "dockyard.timefmt"]
    assert ours == []
    assert "docker" not in loaded and "rich" not in loaded and "aiohttp" not in loaded
