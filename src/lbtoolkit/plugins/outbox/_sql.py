"""The statements of the outbox and the inbox, in one place."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CHANNEL",
    "CLEAN_INBOX",
    "DELETE_SENT",
    "INSERT_INBOX",
    "INSERT_MESSAGE",
    "LOCK_HEADS",
    "MIGRATIONS",
    "MIGRATIONS_TABLE",
    "POSTPONE",
    "SELECT_CHAINS",
]

MIGRATIONS = Path(__file__).parent / "migrations"
# golang-migrate keeps one version sequence per table: the service's own
# migrations stay in schema_migrations, the outbox's in this one.
MIGRATIONS_TABLE = "lbtoolkit_outbox_migrations"
CHANNEL = "lbtoolkit_outbox"

INSERT_MESSAGE = (
    "INSERT INTO lbtoolkit_outbox (message_id, aggregate_key, event, payload, headers) "
    "VALUES ($1, $2, $3, $4, $5::jsonb)"
)

# The oldest row of each key is its head; a relay owns a key while it holds
# the head's row lock. Others skip locked heads, and a key's later rows are no
# head while the head exists, so no two relays ever send rows of one key.
LOCK_HEADS = """
SELECT o.aggregate_key, o.id
FROM lbtoolkit_outbox AS o
WHERE o.id IN (SELECT min(id) FROM lbtoolkit_outbox GROUP BY aggregate_key)
  AND o.available_at <= now()
ORDER BY o.id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""

# Up to $3 rows of the owned keys from their locked heads on, taken
# round-robin so that every key sends a prefix of its rows in order. A row
# older than the head (written by a transaction that committed after the
# head's) is left to a later round, where it is the head: taking it here
# would race a relay that locked it as the head meanwhile.
SELECT_CHAINS = """
SELECT id, message_id, aggregate_key, event, payload, headers::text AS headers
FROM (
    SELECT o.*, row_number() OVER (PARTITION BY o.aggregate_key ORDER BY o.id) AS place
    FROM lbtoolkit_outbox AS o
    JOIN unnest($1::text[], $2::bigint[]) AS owned(aggregate_key, head_id)
      ON o.aggregate_key = owned.aggregate_key AND o.id >= owned.head_id
) AS chained
ORDER BY place, id
LIMIT $3
"""

DELETE_SENT = "DELETE FROM lbtoolkit_outbox WHERE id = ANY($1::bigint[])"

# The wait doubles with each failure of the row, up to the longest, and is
# jittered so that replicas do not retry a flapping broker in step.
POSTPONE = """
UPDATE lbtoolkit_outbox
SET attempts = attempts + 1,
    available_at = now() + make_interval(
        secs => least($2::float8 * power(2, attempts), $3::float8) * (1 + random())
    ),
    last_error = $4
WHERE id = $1
"""

INSERT_INBOX = (
    "INSERT INTO lbtoolkit_inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
)

CLEAN_INBOX = "DELETE FROM lbtoolkit_inbox WHERE received_at < now() - make_interval(secs => $1)"
