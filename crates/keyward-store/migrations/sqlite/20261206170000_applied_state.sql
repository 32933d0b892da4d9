-- What the last declarative state apply (`keyward apply`, `keyward serve --config`) manages,
-- SQLite: one JSON document (see AppliedState), replaced whole by every apply. Only objects
-- listed here are removed when they leave the state file; hand-made ones never are.

CREATE TABLE applied_state (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    document TEXT NOT NULL
) STRICT;
