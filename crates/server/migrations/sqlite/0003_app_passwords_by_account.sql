-- An account's list (active only, or with revoked rows for support staff) reads that account's rows through
-- this index; without it the list scanned every app password of every account (found by cargo xtask bench:
-- 127 lists a second with 100k rows stored).
CREATE INDEX app_passwords_account ON app_passwords(account_id, created_at);
