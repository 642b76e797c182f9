"""What the numbers were measured on."""
from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import version
from typing import Any


def describe() -> dict[str, Any]:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": (wrk.stdout or wrk.stderr).split("\n")[0].strip(),
        "libraries": {name: version(name) for name in ("flask", "gunicorn", "scikit-learn", "numpy", "werkzeug",
                                                        "prometheus-client", "requests")},
    }
