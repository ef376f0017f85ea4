-- The users example's one table. Its name is the example's own, so the
-- example can share a database (the demo uses the local "test" database).
CREATE TABLE IF NOT EXISTS example_users (
    -- Pagination walks seq: the order users were created in, never reused.
    seq bigserial PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    email text NOT NULL UNIQUE,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
