"""uvicorn as the baselines run it: loopback, no access log, defaults otherwise."""

from __future__ import annotations

from typing import Any

import uvicorn

from bench.servers.profiling import install_signal_window

__all__ = ["serve"]


def serve(app: Any, port: int) -> None:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, access_log=False, log_level="warning", lifespan="off"
    )
    install_signal_window()
    uvicorn.Server(config).run()
