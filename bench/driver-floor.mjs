// The least any SQLite-backed answer costs: load better-sqlite3, open the
// store read-only, ask the indexed question whoami-login asks (the portal's
// user by address), print the answer. `npm run bench`
// runs it beside `node -e 0` and `users whoami-login`, so the start-up ratio
// can be read against what the driver alone takes.
//
// Usage: node bench/driver-floor.mjs STORE EMAIL_KEY
import Database from 'better-sqlite3';

const db = new Database(process.argv[2], { readonly: true, fileMustExist: true });
const row = db.prepare('SELECT id, first_name, last_name FROM users WHERE portal_id = (SELECT min(id) FROM portals) AND email_key = ?').get(process.argv[3]);
if (!row) process.exit(1);
process.stdout.write(`${row.first_name} ${row.last_name} (${row.id})\n`);
