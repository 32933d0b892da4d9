-- Which applications changed since a revision, so that a server reloads only those (issue 16,
-- point 4: adding a certificate to one application of 100,000 must not make every server read
-- and parse all of them again). Every application row carries the directory revision its last
-- write moved the counter to; a removed application leaves its id and that revision behind.
--
-- The counter is moved per row, BEFORE the row is written, and its row stays locked until the
-- transaction ends: revisions are handed out in commit order, so a server that has seen
-- revision R and then reads the rows above R misses no write committed at or below R.

ALTER TABLE applications ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

CREATE INDEX applications_revision ON applications (revision);

CREATE TABLE removed_applications (
    revision BIGINT NOT NULL,
    id UUID NOT NULL
);

CREATE INDEX removed_applications_revision ON removed_applications (revision);

DROP TRIGGER applications_revision ON applications;

CREATE FUNCTION stamp_application_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision INTO NEW.revision;
    PERFORM pg_notify('keyward_directory', current_schema());
    RETURN NEW;
END;
$$;

CREATE FUNCTION record_removed_application() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved BIGINT;
BEGIN
    UPDATE directory_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision INTO moved;
    INSERT INTO removed_applications (revision, id) VALUES (moved, OLD.id);
    PERFORM pg_notify('keyward_directory', current_schema());
    RETURN OLD;
END;
$$;

CREATE TRIGGER applications_revision BEFORE INSERT OR UPDATE ON applications
    FOR EACH ROW EXECUTE FUNCTION stamp_application_revision();
CREATE TRIGGER applications_removed AFTER DELETE ON applications
    FOR EACH ROW EXECUTE FUNCTION record_removed_application();
