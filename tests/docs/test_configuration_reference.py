"""docs/configuration.md and the examples' .env.example files match the code's variables.

A failure prints the diff; regenerate with the command the file names
(``lbtoolkit config ... --markdown --owner ...`` or ``--env-example``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = "tests.docs.reference_service:build"
CONFIGURATION = ROOT / "docs" / "configuration.md"
PLUGINS = (
    "postgres_gorm",
    "postgres_pg",
    "postgres_pgx",
    "redis",
    "rabbitmq",
    "nats",
    "centrifuge",
    "sentry",
    "prometheus",
)


def lbtoolkit_config(
    *arguments: str, pythonpath: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``lbtoolkit config`` in a child, the service variables of this machine left out."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MYSERVICE_", "USERS_", "NOTIFIER_"))
    }
    environ["PYTHONPATH"] = os.pathsep.join(str(p) for p in (*pythonpath, ROOT, ROOT / "src"))
    return subprocess.run(
        [sys.executable, "-m", "lbtoolkit.cli", "config", *arguments],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_configuration_reference_matches_the_code() -> None:
    done = lbtoolkit_config(REFERENCE, "--check-docs", str(CONFIGURATION))

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_reference_has_a_section_per_plugin_and_server() -> None:
    owners = re.findall(r"<!-- lbtoolkit:config (.+?) -->", CONFIGURATION.read_text())

    assert owners == [
        "service",
        "probes server",
        "grpc server",
        "HTTP server",
        "gRPC client",
        *(f'plugin "{plugin}"' for plugin in PLUGINS),
    ]


def test_a_stale_reference_fails_with_a_diff(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(
        CONFIGURATION.read_text().replace(
            "| `MYSERVICE_REDIS_POOL_SIZE` | `10` |", "| `MYSERVICE_REDIS_POOL_SIZE` | `20` |"
        )
    )

    done = lbtoolkit_config(REFERENCE, "--check-docs", str(stale))

    assert done.returncode == 1
    assert "-| `MYSERVICE_REDIS_POOL_SIZE` | `20` |" in done.stdout
    assert "+| `MYSERVICE_REDIS_POOL_SIZE` | `10` |" in done.stdout


def test_a_plugin_without_a_section_is_reported(tmp_path: Path) -> None:
    text = CONFIGURATION.read_text()
    section = re.search(
        r'<!-- lbtoolkit:config plugin "nats" -->\n.*?<!-- /lbtoolkit:config -->\n', text, re.DOTALL
    )
    assert section is not None
    incomplete = tmp_path / "configuration.md"
    incomplete.write_text(text.replace(section.group(0), ""))

    done = lbtoolkit_config(REFERENCE, "--check-docs", str(incomplete))

    assert done.returncode == 1
    assert '+(in no block: plugin "nats" (nats))' in done.stdout
    assert "+| `MYSERVICE_NATS_URL` |" in done.stdout


def test_the_reference_leaves_secret_defaults_out() -> None:
    text = CONFIGURATION.read_text()

    # The RabbitMQ password has a default (guest); the reference masks it like every secret.
    assert "| `MYSERVICE_RABBITMQ_PASSWORD` | `******` |" in text
    assert "guest` | no | Password" not in text


@pytest.mark.parametrize(
    ("example", "target"),
    [("users", "users_service.service:build"), ("notifier", "notifier_service.service:build")],
)
def test_the_examples_env_example_matches_the_code(example: str, target: str) -> None:
    env_example = ROOT / "examples" / example / ".env.example"
    examples = (ROOT / "examples" / "users", ROOT / "examples" / "notifier")

    done = lbtoolkit_config(target, "--check-docs", str(env_example), pythonpath=examples)

    assert done.returncode == 0, done.stdout + done.stderr
    text = env_example.read_text()
    assert f"\n{example.upper()}_EVENTS_PASSWORD=\n" in text
    assert f"\n{example.upper()}_EVENTS_DSN=\n" in text


def test_markdown_of_one_owner_and_an_owner_nobody_has() -> None:
    redis = lbtoolkit_config(REFERENCE, "--markdown", "--owner", 'plugin "redis"')
    nobody = lbtoolkit_config(REFERENCE, "--markdown", "--owner", 'plugin "mongo"')

    assert redis.returncode == 0, redis.stderr
    names = re.findall(r"^\| `(\w+)` \|", redis.stdout, re.MULTILINE)
    assert names[0] == "MYSERVICE_REDIS_ADDR"
    assert all(name.startswith("MYSERVICE_REDIS_") for name in names)
    assert nobody.returncode == 1
    assert nobody.stderr == (
        "error: --owner 'plugin \"mongo\"': no variable has an owner starting with it\n"
    )
