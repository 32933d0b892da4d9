-- Which applications changed since a revision, so that a server reloads only those (issue 16,
-- point 4: adding a certificate to one application of 100,000 must not make every server read
-- and parse all of them again). Every application row carries the directory revision its last
-- write moved the counter to; a removed application leaves its id and that revision behind.

ALTER TABLE applications ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

CREATE INDEX applications_revision ON applications (revision);

CREATE TABLE removed_applications (
    revision INTEGER NOT NULL,
    id TEXT NOT NULL
) STRICT;

CREATE INDEX removed_applications_revision ON removed_applications (revision);

DROP TRIGGER applications_insert_revision;
DROP TRIGGER applications_update_revision;
DROP TRIGGER applications_delete_revision;

-- The row's own revision is written by the trigger: an UPDATE OF the document's columns only,
-- so that this UPDATE does not fire the trigger again.
CREATE TRIGGER applications_insert_revision AFTER INSERT ON applications BEGIN
    UPDATE directory_revision SET revision = revision + 1;
    UPDATE applications SET revision = (SELECT revision FROM directory_revision) WHERE id = NEW.id;
END;

CREATE TRIGGER applications_update_revision
AFTER UPDATE OF id, tenant_id, app_id, service_principal_id, version, document ON applications BEGIN
    UPDATE directory_revision SET revision = revision + 1;
    UPDATE applications SET revision = (SELECT revision FROM directory_revision) WHERE id = NEW.id;
END;

CREATE TRIGGER applications_delete_revision AFTER DELETE ON applications BEGIN
    UPDATE directory_revision SET revision = revision + 1;
    INSERT INTO removed_applications (revision, id) SELECT revision, OLD.id FROM directory_revision;
END;
