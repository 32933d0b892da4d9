-- A counter that moves with every change to what the authority keeps in memory (tenants,
-- applications, identifier URIs, role assignments, signing keys), so that a server can tell
-- cheaply whether another server sharing the database has written since it last looked.

CREATE TABLE directory_revision (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
) STRICT;

INSERT INTO directory_revision (id, revision) VALUES (1, 0);

CREATE TRIGGER tenants_insert_revision AFTER INSERT ON tenants BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER tenants_update_revision AFTER UPDATE ON tenants BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER tenants_delete_revision AFTER DELETE ON tenants BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER applications_insert_revision AFTER INSERT ON applications BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER applications_update_revision AFTER UPDATE ON applications BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER applications_delete_revision AFTER DELETE ON applications BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER identifier_uris_insert_revision AFTER INSERT ON identifier_uris BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER identifier_uris_delete_revision AFTER DELETE ON identifier_uris BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER role_assignments_insert_revision AFTER INSERT ON role_assignments BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER role_assignments_delete_revision AFTER DELETE ON role_assignments BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER signing_keys_insert_revision AFTER INSERT ON signing_keys BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER signing_keys_update_revision AFTER UPDATE ON signing_keys BEGIN UPDATE directory_revision SET revision = revision + 1; END;
CREATE TRIGGER signing_keys_delete_revision AFTER DELETE ON signing_keys BEGIN UPDATE directory_revision SET revision = revision + 1; END;
