"""The test Greeter run as a real process, for the drain test.

GREETER_OUT: where the test compiled the protos. PORT_FILE: where the bound
gRPC and probes ports are written once the service has started.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.server.grpc.support import Greeting, greeter_spec, implementation, load_modules

import lbtoolkit


def main() -> int:
    out = Path(os.environ["GREETER_OUT"])
    pb2, pb2_grpc = load_modules(out)
    del pb2_grpc
    app = lbtoolkit.new_service("example", env_prefix="LB")
    app.provide(lambda: Greeting("Hello"), provides=Greeting)
    app.server.declare(greeter_spec(pb2))
    app.server.set_service(implementation(pb2))

    def write_ports() -> None:
        probes = app.server.probes
        assert probes is not None
        target = Path(os.environ["PORT_FILE"])
        partial = target.with_suffix(".partial")
        partial.write_text(f"{app.server.grpc.port} {probes.port}")
        partial.replace(target)  # the test never reads half a file

    app.register_on_start_sync_hook(write_ports)
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
