import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { Context } from '../../context.js';
import { UsageError } from '../../errors.js';
import type { NewPerson, Queued } from '../../domain/registration.js';
import { emailKey, parseEmail, parseName } from '../../domain/validate.js';
import { printUsers, say } from '../../output/output.js';
import { neutralize } from '../../output/sanitize.js';
import { valueOrPrompt, confirmIfInteractive } from '../../prompt.js';
import { actor, deliverQueued, reportDeliveries, userViews } from '../shared.js';

export interface InviteOptions {
  email?: string;
  firstName?: string;
  lastName?: string;
  fromCsv?: string;
}

export interface CsvPerson extends NewPerson {
  line: number;
}

const MAX_CSV_BYTES = 50 * 1024 * 1024;

/**
 * Reads and validates a whole CSV file (header email,first_name,last_name;
 * quoted fields, BOM and CRLF accepted). Any bad row fails the whole file,
 * naming every bad line, before anything is written.
 */
export async function readInviteCsv(path: string): Promise<CsvPerson[]> {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_CSV_BYTES) throw new UsageError(`${path} is larger than 50 MB; split it into smaller files.`, 'invalid_csv');
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`Cannot read ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path.`, 'invalid_csv');
  }
  const { parse } = await import('csv-parse/sync');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, info: true, skip_empty_lines: true, relax_column_count: true, trim: false }) as never;
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new UsageError(`${path}: line ${e.lines ?? '?'}: ${e.message.replace(/^Invalid Record Length: /, '')}; fix the quoting and run again. Nobody was invited.`, 'invalid_csv');
  }
  if (records.length === 0) throw new UsageError(`${path} is empty; it needs the header email,first_name,last_name and one person per line.`, 'invalid_csv');
  const header = records[0]!.record.map((h) => h.trim().toLowerCase());
  const want = ['email', 'first_name', 'last_name'];
  if (header.length !== 3 || want.some((w, i) => header[i] !== w)) {
    throw new UsageError(`${path}: line 1: the header must be exactly "email,first_name,last_name", not ${JSON.stringify(neutralize(records[0]!.record.join(',')).slice(0, 80))}. Nobody was invited.`, 'invalid_csv');
  }
  const errors: string[] = [];
  const people: CsvPerson[] = [];
  const seen = new Map<string, number>();
  for (const { record, info } of records.slice(1)) {
    const line = info.lines;
    if (record.length !== 3) {
      errors.push(`line ${line}: expected 3 fields (email,first_name,last_name), found ${record.length}`);
      continue;
    }
    try {
      const email = parseEmail(record[0]!);
      const firstName = parseName(record[1]!, 'first name');
      const lastName = parseName(record[2]!, 'last name');
      const first = seen.get(emailKey(email));
      if (first !== undefined) throw new UsageError(`${email} already appears on line ${first}`);
      seen.set(emailKey(email), line);
      people.push({ line, email, firstName, lastName });
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      errors.push(`line ${line}: ${err.message}`);
    }
  }
  if (errors.length > 0) {
    const shown = errors.slice(0, 50);
    const more = errors.length > shown.length ? `\n  … and ${errors.length - shown.length} more bad lines` : '';
    throw new UsageError(`${path} has ${errors.length} bad line${errors.length === 1 ? '' : 's'}; nobody was invited. Fix ${errors.length === 1 ? 'it' : 'them'} and run again:\n  ${shown.join('\n  ')}${more}`, 'invalid_csv', { lines: errors });
  }
  if (people.length === 0) throw new UsageError(`${path} has a header but nobody to invite.`, 'invalid_csv');
  return people;
}

async function inviteOne(ctx: Context, o: InviteOptions): Promise<void> {
  const email = parseEmail(await valueOrPrompt(ctx, o.email, '--email', 'Email address:', (v) => parseEmail(v)));
  const firstName = parseName(await valueOrPrompt(ctx, o.firstName, '--first-name', 'First name:', (v) => parseName(v, 'first name')), 'first name');
  const lastName = parseName(await valueOrPrompt(ctx, o.lastName, '--last-name', 'Last name:', (v) => parseName(v, 'last name')), 'last name');
  const portal = ctx.portal();
  const { invite } = await import('../../domain/registration.js');
  const queued = invite(ctx.store(), portal, { email, firstName, lastName }, actor(ctx));
  const results = await deliverQueued(ctx, [queued]);
  if (!ctx.options.quiet || ctx.options.json) await printUsers(ctx, userViews(ctx, [queued.userId]));
  reportDeliveries(ctx, results);
}

async function inviteFromCsv(ctx: Context, path: string): Promise<void> {
  const people = await readInviteCsv(path);
  const portal = ctx.portal();
  const store = ctx.store();
  const existing = new Map<string, number>();
  const lookup = store.prepare('SELECT id FROM users WHERE portal_id = ? AND email_key = ?');
  for (const p of people) {
    const row = lookup.get(portal.id, emailKey(p.email)) as { id: number } | undefined;
    if (row) existing.set(emailKey(p.email), row.id);
  }
  const fresh = people.filter((p) => !existing.has(emailKey(p.email)));
  if (fresh.length > 0) await confirmIfInteractive(ctx, `Invite ${fresh.length} ${fresh.length === 1 ? 'person' : 'people'} to ${portal.slug}?`);
  const who = actor(ctx);
  const { inviteInTransaction } = await import('../../domain/registration.js');
  // Recording is one transaction: a run killed here has invited nobody, and a
  // run killed later has invited everyone with their emails queued.
  const queued: Queued[] = store.write(() => {
    const out: Queued[] = [];
    for (const p of fresh) {
      if (lookup.get(portal.id, emailKey(p.email))) continue; // invited meanwhile by another process
      out.push(inviteInTransaction(store, portal, p, who));
    }
    return out;
  });
  // Emails of earlier runs that never went out (a run killed mid-delivery) go now too.
  const skippedIds = [...existing.values()];
  const leftover = skippedIds.length
    ? (store
        .prepare(
          `SELECT o.id AS outboxId FROM outbox o JOIN registrations r ON r.id = o.registration_id
           WHERE o.state = 'queued' AND r.state = 'active' AND r.user_id IN (SELECT value FROM json_each(?)) ORDER BY o.id`,
        )
        .all(JSON.stringify(skippedIds)) as { outboxId: number }[])
    : [];
  const results = await deliverQueued(ctx, [...queued, ...leftover], { pool: true, label: 'Sending registration emails' });
  const skipped = people
    .filter((p) => existing.has(emailKey(p.email)))
    .map((p) => ({ line: p.line, email: p.email, userId: existing.get(emailKey(p.email))! }));
  if (!ctx.options.quiet || ctx.options.json) await printUsers(ctx, userViews(ctx, queued.map((q) => q.userId)), ctx.options.json ? { skipped } : undefined);
  say(ctx, `Invited ${queued.length} ${queued.length === 1 ? 'person' : 'people'} to ${portal.slug}.`);
  if (skipped.length > 0) {
    say(ctx, `Skipped ${skipped.length} address${skipped.length === 1 ? '' : 'es'} that already ha${skipped.length === 1 ? 's' : 've'} a profile:`);
    for (const s of skipped) say(ctx, `  line ${s.line}: ${neutralize(s.email)} (user ${s.userId})`);
  }
  reportDeliveries(ctx, results);
}

export async function usersInviteRun(ctx: Context, o: InviteOptions): Promise<void> {
  if (o.fromCsv !== undefined) {
    if (o.email !== undefined || o.firstName !== undefined || o.lastName !== undefined) {
      throw new UsageError('Use either --from-csv FILE or --email/--first-name/--last-name, not both.', 'usage');
    }
    return inviteFromCsv(ctx, o.fromCsv);
  }
  return inviteOne(ctx, o);
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('invite')
    .summary('invite people and send their registration emails')
    .description('Create an unlinked user and send the registration email (Step 1: register for an IMS Login Service account; Step 2: the unique link).')
    .option('--email <address>', "the person's email address")
    .option('--first-name <name>', 'first name')
    .option('--last-name <name>', 'last name')
    .option('--from-csv <file>', 'invite everyone in a CSV file with the header email,first_name,last_name')
    .addHelpText(
      'after',
      '\nExamples:\n  portalctl users invite --email jane.doe@example.org --first-name Jane --last-name Doe\n  portalctl users invite --from-csv people.csv --yes',
    )
    .action((o: InviteOptions) => usersInviteRun(ctx, o));
}
