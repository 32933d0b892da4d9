-- More of what servers sharing the database must agree on, so that N servers do not allow N
-- times what one allows.

-- The networks each account signed in from (smart lockout's familiar sources): `account` is
-- `{tenant}/{email}`, `source` the network (an IPv4 /24 or IPv6 /64), `last` the last successful
-- sign-in from it, in milliseconds since the Unix epoch of the database's clock.
CREATE TABLE familiar_sources (
    account TEXT NOT NULL,
    source TEXT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (account, source)
);

-- When each device code (by its hash) was last polled, for `slow_down` (milliseconds since the
-- Unix epoch of the database's clock; NULL for a row made by a first poll still in progress).
CREATE TABLE device_polls (
    device TEXT NOT NULL PRIMARY KEY,
    last BIGINT
);
