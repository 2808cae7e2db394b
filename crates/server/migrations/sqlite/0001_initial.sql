-- Times are Unix milliseconds (UTC).

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Only the SHA-256 of a session token is stored.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);

-- Revoked rows stay, marked, for the audit trail.
CREATE TABLE app_passwords (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    label_key    TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    lookup_tag   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX app_passwords_active_label ON app_passwords(account_id, label_key) WHERE revoked_at IS NULL;
CREATE INDEX app_passwords_lookup ON app_passwords(account_id, lookup_tag) WHERE revoked_at IS NULL;

-- The limit of 25 holds even if a writer skips the check in code.
CREATE TRIGGER app_passwords_limit BEFORE INSERT ON app_passwords
WHEN (SELECT COUNT(*) FROM app_passwords WHERE account_id = NEW.account_id AND revoked_at IS NULL) >= 25
BEGIN
    SELECT RAISE(ABORT, 'limit_reached');
END;

CREATE TABLE idempotency_keys (
    account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    response_body TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    client_addr TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_account ON audit_events(account_id, at);
