-- Removing a registration (prune cascades users -> registrations) checks
-- link_attempts.registration_id for each one; without an index that is a full
-- scan per registration, which made prune quadratic in the store size.
CREATE INDEX link_attempts_registration ON link_attempts(registration_id);
