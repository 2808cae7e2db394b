-- An account's active passwords have distinct lookup tags, so a third-party sign-in verifies one candidate
-- with one argon2 run. A create whose tag is taken is refused (409 lookup_tag_conflict) and the device makes
-- another password.
DROP INDEX app_passwords_lookup;
CREATE UNIQUE INDEX app_passwords_active_lookup ON app_passwords(account_id, lookup_tag) WHERE revoked_at IS NULL;
