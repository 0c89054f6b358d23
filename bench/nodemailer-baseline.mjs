// The baseline for the bulk-invite benchmark: a bare nodemailer pooled loop
// that sends the same registration emails (composed by the project's own
// composeRegistrationEmail, each with a fresh Step 2 token) to the same SMTP
// server, with the same number of connections as portalctl (its default, 5,
// unless told), and nothing else: no store, no bookkeeping. It is what
// "sending 10k emails" costs on this machine; `portalctl users invite
// --from-csv` is measured against it.
//
//   node bench/nodemailer-baseline.mjs PORT CSV [CONNECTIONS]

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import nodemailer from 'nodemailer';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { composeRegistrationEmail } = await import(pathToFileURL(join(ROOT, 'dist', 'mail', 'compose.js')).href);
const { linkUrl, mintToken } = await import(pathToFileURL(join(ROOT, 'dist', 'domain', 'tokens.js')).href);

const [portArg, csvPath, connectionsArg = '5'] = process.argv.slice(2);
const port = Number(portArg);
const connections = Number(connectionsArg);
if (!port || !csvPath || !(connections >= 1)) {
  console.error('usage: node bench/nodemailer-baseline.mjs PORT CSV [CONNECTIONS]');
  process.exit(2);
}
// The bench writes plain CSV (no quoting), one person per line after the header.
const people = readFileSync(csvPath, 'utf8')
  .split('\n')
  .slice(1)
  .filter(Boolean)
  .map((line) => {
    const [email, firstName, lastName] = line.split(',');
    return { email, firstName, lastName };
  });

const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, pool: true, maxConnections: connections, maxMessages: Infinity });
const now = process.env.PORTALCTL_NOW ? new Date(process.env.PORTALCTL_NOW) : new Date();
const expiresAt = new Date(now.getTime() + 7 * 24 * 60 * 60 * 1000).toISOString();
const removalAt = new Date(now.getTime() + 30 * 24 * 60 * 60 * 1000).toISOString();

let failed = 0;
await Promise.all(
  people.map(async (p) => {
    const mail = composeRegistrationEmail({
      portalName: 'Grants Portal',
      portalUrl: 'https://grants.example.org',
      registerUrl: 'https://ims.example.org/register',
      adminEmail: 'grants-admin@example.org',
      firstName: p.firstName,
      lastName: p.lastName,
      to: p.email,
      linkUrl: linkUrl('https://grants.example.org', mintToken()),
      expiresAt,
      removalAt,
      timeZone: 'America/New_York',
    });
    try {
      await transport.sendMail({ ...mail, from: 'no-reply@grants.example.org', date: now });
    } catch (err) {
      if (failed++ === 0) console.error(`send failed: ${err.message}`);
    }
  }),
);
transport.close();
if (failed) {
  console.error(`${failed} of ${people.length} messages failed`);
  process.exit(1);
}
