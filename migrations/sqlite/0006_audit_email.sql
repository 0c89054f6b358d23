-- The audit trail found by address: `portalctl audit --user ADDRESS` of a
-- removed user, and "No user ADDRESS … was removed on …". The index folds
-- ASCII case; the store's own key rule (store/keys.ts) decides among the rows
-- it finds. PostgreSQL has had the same index (on lower(user_email)) from its
-- first migration.
CREATE INDEX audit_user_email ON audit(user_email COLLATE NOCASE);
