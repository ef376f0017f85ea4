CREATE TABLE IF NOT EXISTS lbtoolkit_outbox (
    id bigserial PRIMARY KEY,
    message_id text NOT NULL,
    aggregate_key text NOT NULL,
    event text NOT NULL,
    payload bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL DEFAULT now(),
    last_error text
);

CREATE INDEX IF NOT EXISTS lbtoolkit_outbox_key_id ON lbtoolkit_outbox (aggregate_key, id);

CREATE TABLE IF NOT EXISTS lbtoolkit_inbox (
    consumer text NOT NULL,
    message_id text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

CREATE INDEX IF NOT EXISTS lbtoolkit_inbox_received_at ON lbtoolkit_inbox (received_at);

-- Wakes the relays when a transaction that wrote messages commits
-- (PostgreSQL delivers notifications at commit, folded into one per transaction).
CREATE OR REPLACE FUNCTION lbtoolkit_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lbtoolkit_outbox', '');
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS lbtoolkit_outbox_notify ON lbtoolkit_outbox;
CREATE TRIGGER lbtoolkit_outbox_notify AFTER INSERT ON lbtoolkit_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION lbtoolkit_outbox_notify();
