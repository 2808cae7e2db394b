-- Failed-attempt counts, when the throttle keeps them in the database (with PostgreSQL, so that several
-- server instances throttle as one). A key names a scope, a hash of the account and a client address, never
-- an email. Times are Unix milliseconds; `in_flight` attempts were reserved and not yet settled.
CREATE TABLE throttle_counts (
    key                      TEXT PRIMARY KEY,
    in_flight                INTEGER NOT NULL,
    in_flight_at             BIGINT NOT NULL,
    consecutive              INTEGER NOT NULL,
    last_failure             BIGINT NOT NULL,
    window_start             BIGINT NOT NULL,
    window_failures          INTEGER NOT NULL,
    previous_window_failures INTEGER NOT NULL
);
