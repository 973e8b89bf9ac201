"""Junior AI Assistant's wiring file in the repository: `python server.py [ARGS]` is `junior-ai [ARGS]`.

The server is built and run by the package `serve` (serve/main.py), which is what an install puts on the
path; this file is not installed. `python3 run.py serve` runs it with the project's own venv.
"""

from __future__ import annotations

import sys

from serve.main import build_server, main

__all__ = ["build_server", "main"]

if __name__ == "__main__":
    sys.exit(main())
