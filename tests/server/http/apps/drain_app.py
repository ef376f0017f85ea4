"""An HTTP server in its own process: prints its port, drains on SIGTERM, exits 0.

Usage: ``python drain_app.py <directory for compiled protos>``.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[4]))

from tests.server.http.support import compile_protos, new_server, spec_of
from tests.server.http.users import UsersService


async def main(out: Path) -> int:
    protos = compile_protos(out)
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    server, injector = new_server()
    injector.provide_value(UsersService(protos.users), provides=UsersService)
    server.add_service(spec)
    await server.prepare(injector.build())
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await server.start()
    print(server.port, flush=True)  # noqa: T201 - the test reads the port here
    await stop.wait()
    print(f"draining {server.in_flight}", flush=True)  # noqa: T201
    await server.stop(10)
    print("stopped", flush=True)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]))))
