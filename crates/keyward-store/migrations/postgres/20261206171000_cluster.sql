-- What servers sharing the database coordinate through it.

-- Every change that moves the directory revision also notifies the channel `keyward_directory`
-- (delivered when the transaction commits), so that the other servers reload at once instead
-- of at their next revision check. The payload is the schema, so that servers of other schemas
-- in the same database can tell the notification is not theirs.
CREATE OR REPLACE FUNCTION bump_directory_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_revision SET revision = revision + 1 WHERE id = 1;
    PERFORM pg_notify('keyward_directory', current_schema());
    RETURN NULL;
END;
$$;

-- Failed sign-ins counted across servers: one row per bucket (an account for one source, or a
-- client address). Times are milliseconds since the Unix epoch, of the database's clock.
CREATE TABLE sign_in_throttle (
    bucket TEXT NOT NULL PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until BIGINT,
    last BIGINT NOT NULL
);

-- Work that one server of many does at a time (the vault's lifetime actions): held by `holder`
-- until `until` (milliseconds since the Unix epoch, of the database's clock).
CREATE TABLE leases (
    name TEXT NOT NULL PRIMARY KEY,
    holder UUID NOT NULL,
    until BIGINT NOT NULL
);
