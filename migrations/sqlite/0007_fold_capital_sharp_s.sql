-- Keys of the capital sharp s. The key rule (src/store/keys.ts) upper- and
-- lower-cased, which took ẞ (U+1E9E) to ß while ß and SS became ss: an account
-- STRAẞE was not the account straße, and both could be linked in one portal.
-- The rule now folds ẞ to ss too, so a key made before holds ß exactly where
-- the new one holds ss (ß itself always became ss). Rows whose mended key
-- would collide with another user's are left as they are (UPDATE OR IGNORE):
-- nobody is unlinked by an upgrade; `users show` still finds both.
UPDATE OR IGNORE users SET email_key = replace(email_key, 'ß', 'ss') WHERE email_key LIKE '%ß%';
UPDATE OR IGNORE users SET username_key = replace(username_key, 'ß', 'ss') WHERE username_key LIKE '%ß%';
UPDATE users SET search_key = replace(search_key, 'ß', 'ss') WHERE search_key LIKE '%ß%';
UPDATE users SET name_key = replace(name_key, 'ß', 'ss') WHERE name_key LIKE '%ß%';
UPDATE link_attempts SET username_key = replace(username_key, 'ß', 'ss') WHERE username_key LIKE '%ß%';
