// The Context is built once per run and handed to every command: the streams
// and what they are, the global options, the one clock reading of the run,
// the settings, and lazily opened dependencies — the store, the mailer —
// with the prompter, progress and interrupt signal that tests replace.

import { userInfo } from 'node:os';
import { UsageError } from '../errors.js';
import { quote } from '../text.js';
import { clockFromEnv, localZone } from '../domain/time.js';
import type { Stamp } from '../domain/lifecycle.js';
import { parseSlug } from '../domain/validate.js';
import { openStore } from '../store/open.js';
import type { Portal, Store } from '../store/types.js';
import type { Mailer, MailSettings } from '../mail/transport.js';
import { createIO, type IOStreams, type RawStreams } from './io.js';
import { inquirerPrompter, type Prompter } from './prompter.js';
import { spinnerProgress, type Progress, type ProgressHandle } from './progress.js';
import { Settings } from './settings.js';

export interface GlobalOptions {
  db?: string;
  portal?: string;
  json: boolean;
  color: boolean;
  quiet: boolean;
  yes: boolean;
  actor?: string;
  debug: boolean;
}

/** What a run is built from; tests pass their own streams, environment, answers and signal. */
export interface ContextDeps {
  streams: RawStreams;
  env: NodeJS.ProcessEnv;
  prompter?: Prompter;
  progress?: Progress;
  /** Installs the handler that turns Ctrl-C / SIGTERM into an abort (production: process signals). */
  onInterrupt?: (abort: (signal: string) => void) => void;
  /** The clock, for runs that last (serve, events --follow); defaults to PORTALCTL_NOW or the system clock. */
  clock?: () => Date;
  /** Waiting between polls (events --follow): resolves after `ms`, or at once when the signal aborts. Tests step it by hand. */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Before a command that streams a report of the whole store (production: keepHeapSmall). */
  prepareToStream?: () => void;
}

/** A timer that ends early, without an error, when the signal aborts. */
function waitOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface StoreNeeds {
  /** `portals add` may create a named store that does not exist yet. */
  create?: boolean;
  /** The command only reads: a read-only store file will do. */
  readOnly?: boolean;
}

export class Context {
  readonly io: IOStreams;
  readonly env: NodeJS.ProcessEnv;
  globals: GlobalOptions = { json: false, color: true, quiet: false, yes: false, debug: false };
  readonly prompter: Prompter;
  private readonly deps: ContextDeps;
  private progressFactory?: Progress;
  private nowValue?: Date;
  private zoneValue?: string;
  private settingsValue?: Settings;
  private storeValue?: Promise<Store>;
  private mailerValue?: Promise<Mailer>;
  private controller?: AbortController;
  /** The spinner on screen, if any: a notice goes above it rather than through it. */
  private spinner?: ProgressHandle;

  constructor(deps: ContextDeps) {
    this.deps = deps;
    this.env = deps.env;
    this.io = createIO(deps.streams, deps.env);
    this.prompter = deps.prompter ?? inquirerPrompter(this.io);
  }

  /** The clock, for what runs long (serve, events --follow). Everything else uses `now`. */
  get clock(): () => Date {
    return this.deps.clock ?? clockFromEnv(this.env);
  }

  /** Called before a command that streams a report growing with the store (users list, events, prune, …). */
  prepareToStream(): void {
    this.deps.prepareToStream?.();
  }

  /** Waits `ms` between polls of a long run, or less when the signal aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    return (this.deps.wait ?? waitOrAbort)(ms, signal);
  }

  /** "Now" for this run: read once, so every time a command records agrees. */
  get now(): Date {
    this.nowValue ??= this.clock();
    return this.nowValue;
  }

  /** The zone this machine shows times in (TZ, or the system's). */
  get zone(): string {
    this.zoneValue ??= localZone(this.env);
    return this.zoneValue;
  }

  get settings(): Settings {
    this.settingsValue ??= new Settings({ db: this.globals.db, portal: this.globals.portal }, this.env);
    return this.settingsValue;
  }

  /** Progress (spinners, counters): only on a terminal stderr, never with --json or --quiet. */
  get progress(): Progress {
    if (!this.progressFactory) {
      const make = this.deps.progress ?? spinnerProgress(this.io, !this.globals.json && !this.globals.quiet);
      this.progressFactory = async (text) => {
        const handle = await make(text);
        this.spinner = handle;
        return {
          update: (t) => handle.update(t),
          note: (t) => (handle.note ? handle.note(t) : void this.io.stderr.write(`${t}\n`)),
          stop: () => {
            handle.stop();
            if (this.spinner === handle) this.spinner = undefined;
          },
        };
      };
    }
    return this.progressFactory;
  }

  /** A line for the person at the terminal while work goes on (above the spinner if one turns); not with --json. */
  notice(text: string): void {
    if (this.globals.json) return;
    if (this.spinner?.note) this.spinner.note(text);
    else this.io.stderr.write(`${text}\n`);
  }

  /** Who the audit trail records: --actor, else the OS user. */
  get actor(): string {
    if (this.globals.actor !== undefined) return this.globals.actor;
    try {
      return userInfo().username;
    } catch {
      return this.env.USER || this.env.LOGNAME || 'unknown';
    }
  }

  /** When, by whom, and in which zone — what every change below the command is told. */
  stamp(): Stamp {
    // The zone is worked out only when a time is shown: the first use of Intl costs more than many commands' whole work.
    const zone = () => this.zone;
    return {
      now: this.now,
      actor: this.actor,
      get zone() {
        return zone();
      },
    };
  }

  /** Checks the settings every command relies on (PORTALCTL_NOW, TZ, the config file), before anything else happens. */
  checkBasics(): void {
    void this.now;
    this.checkZone();
    void this.settings;
  }

  /** A bad TZ is a usage error before anything runs; the system's zone is looked up only when a time is shown (Intl is slow to start). */
  checkZone(): void {
    if (this.env.TZ) void this.zone;
  }

  store(needs: StoreNeeds = {}): Promise<Store> {
    this.storeValue ??= openStore(
      { value: this.settings.db.value, explicit: this.settings.storeExplicit },
      {
        create: Boolean(needs.create),
        readOnly: needs.readOnly,
        password: this.settings.postgresPassword(),
        env: this.env,
        busyTimeoutMs: this.settings.busyTimeoutMs,
      },
    );
    return this.storeValue;
  }

  /** --portal, PORTALCTL_PORTAL, the config file, or the only portal in the store. */
  async portal(needs: StoreNeeds = {}): Promise<Portal> {
    const slugRaw = this.settings.portal.value;
    const slug = slugRaw !== undefined ? parseSlug(slugRaw) : undefined;
    const store = await this.store(needs);
    const all = await store.read((tx) => tx.portals.all());
    if (slug !== undefined) {
      const p = all.find((x) => x.slug === slug);
      if (!p) {
        throw new UsageError(
          `Unknown portal ${quote(slug)}; ${all.length ? `known portals: ${all.map((x) => x.slug).join(', ')}` : 'create one with `portalctl portals add`'}.`,
          'unknown_portal',
        );
      }
      return p;
    }
    if (all.length === 1) return all[0]!;
    if (all.length === 0)
      throw new UsageError('There is no portal yet; create one with `portalctl portals add SLUG --name N --url URL --admin-email A`.', 'no_portal');
    throw new UsageError(`The store holds several portals (${all.map((p) => p.slug).join(', ')}); choose one with --portal SLUG.`, 'portal_required');
  }

  /** For commands that cover every portal unless one is named (prune, outbox, audit, events, remind). */
  async portalScope(needs: StoreNeeds = {}): Promise<Portal | undefined> {
    return this.globals.portal !== undefined ? this.portal(needs) : undefined;
  }

  /** The mail settings, validated — call before the first write of a command that sends. */
  mailSettings(): MailSettings {
    return this.settings.mailSettings();
  }

  mailer(opts: { pool?: boolean } = {}): Promise<Mailer> {
    this.mailerValue ??= import('../mail/transport.js').then(({ createMailer }) => createMailer(this.mailSettings(), opts));
    return this.mailerValue;
  }

  /**
   * The interrupt signal of long work: from this call on, Ctrl-C (or SIGTERM)
   * aborts the signal instead of killing the process, so the command can
   * finish what is in flight, keep what is done and say so. A second Ctrl-C
   * ends the process at once.
   */
  interrupts(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      this.deps.onInterrupt?.((signal) => {
        if (controller.signal.aborted) return;
        controller.abort(signal);
        // Said at once, so that nobody presses Ctrl-C again thinking it was not heard.
        this.notice('Stopping after the work in flight; what is done is kept. Press Ctrl-C again to stop at once.');
      });
    }
    return this.controller.signal;
  }

  async close(): Promise<void> {
    const mailer = this.mailerValue;
    const store = this.storeValue;
    this.mailerValue = undefined;
    this.storeValue = undefined;
    if (mailer) await mailer.then((m) => m.close()).catch(() => {});
    if (store) await store.then((s) => s.close()).catch(() => {});
  }
}
