-- A counter that moves with every change to what the authority keeps in memory (tenants,
-- applications, identifier URIs, role assignments, signing keys), so that a server can tell
-- cheaply whether another server sharing the database has written since it last looked.

CREATE TABLE directory_revision (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);

INSERT INTO directory_revision (id, revision) VALUES (1, 0);

CREATE FUNCTION bump_directory_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_revision SET revision = revision + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tenants_revision AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_revision();
CREATE TRIGGER applications_revision AFTER INSERT OR UPDATE OR DELETE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_revision();
CREATE TRIGGER identifier_uris_revision AFTER INSERT OR UPDATE OR DELETE ON identifier_uris
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_revision();
CREATE TRIGGER role_assignments_revision AFTER INSERT OR UPDATE OR DELETE ON role_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_revision();
CREATE TRIGGER signing_keys_revision AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_revision();
