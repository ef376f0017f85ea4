DROP TRIGGER IF EXISTS lbtoolkit_outbox_notify ON lbtoolkit_outbox;
DROP FUNCTION IF EXISTS lbtoolkit_outbox_notify();
DROP TABLE IF EXISTS lbtoolkit_inbox;
DROP TABLE IF EXISTS lbtoolkit_outbox;
