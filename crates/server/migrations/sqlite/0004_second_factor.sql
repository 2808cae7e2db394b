-- Two-factor authentication (RFC 6238 TOTP). The shared secret must be readable to check a code, so it is
-- kept as is (base32), like the rest of this file readable by the server's user only. `enabled_at` is NULL
-- while an enrolment waits for its first code; `last_step` is the newest time step accepted, so a code is
-- accepted once.
CREATE TABLE second_factors (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    enabled_at INTEGER,
    last_step  INTEGER
);

-- Only the SHA-256 of a recovery code is stored; each works once.
CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (account_id, code_hash)
);
