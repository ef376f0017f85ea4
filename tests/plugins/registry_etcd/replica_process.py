"""One replica in a process of its own, so a test can SIGKILL it.

``python -m tests.plugins.registry_etcd.replica_process PROTOS_DIR ETCD_ENDPOINT SERVICE``
(from the project root) runs a Greeter service with the registry plugin on a
port the system chooses, until it is signalled.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.plugins.registry_etcd.registry_support import add_registry
from tests.server.grpc.support import GreeterKit, greeter_spec, implementation, load_modules


def main(protos: str, endpoint: str, service: str) -> int:
    out = Path(protos)
    pb2, pb2_grpc = load_modules(out)
    kit = GreeterKit(pb2, pb2_grpc, greeter_spec(pb2), implementation(pb2), out)
    environ = {
        "LB_REGISTRY_ENDPOINTS": endpoint,
        "LB_REGISTRY_LEASE_TTL": "2s",
        "LB_REGISTRY_DIAL_TIMEOUT": "2s",
    }
    app = kit.new_app(environ, name=service)
    add_registry(app)
    return app.run()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
