-- What each app-specific password may reach, and when it stops working. Passwords made before scopes reach
-- everything, as they always did. An expired password is marked revoked at its `expires_at` (by the server's
-- sweep, or before the account's next change), so the limit trigger, the unique indexes and the lists keep
-- reading `revoked_at IS NULL` as "active"; until then every read also checks `expires_at`.
ALTER TABLE app_passwords ADD COLUMN scopes TEXT NOT NULL DEFAULT 'mail,calendars,contacts,files';
ALTER TABLE app_passwords ADD COLUMN expires_at INTEGER;
CREATE INDEX app_passwords_expiring ON app_passwords(expires_at) WHERE revoked_at IS NULL AND expires_at IS NOT NULL;

-- Signed-in devices: each session gets an opaque id the user can name it by (never its token or the token's
-- hash), and the app that signed in, from its User-Agent.
ALTER TABLE sessions ADD COLUMN id TEXT;
UPDATE sessions SET id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX sessions_id ON sessions(id);
ALTER TABLE sessions ADD COLUMN client TEXT NOT NULL DEFAULT '';
