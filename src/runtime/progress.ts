// Progress for long work (a spinner with a counter), through an interface so
// that tests can watch it. Shown only on a terminal stderr and never with
// --json or --quiet; ora is loaded only then, and never reads stdin (its
// discardStdin would swallow Ctrl-C).

import type { IOStreams } from './io.js';

export interface ProgressHandle {
  update(text: string): void;
  /** A line of its own above the spinner (the spinner goes on); without it, notices are plain lines on stderr. */
  note?(text: string): void;
  stop(): void;
}

export type Progress = (text: string) => Promise<ProgressHandle>;

export function spinnerProgress(io: IOStreams, enabled: boolean): Progress {
  // No spinner: a note is a plain line on stderr.
  const silent: ProgressHandle = { update() {}, note: (t) => void io.stderr.write(`${t}\n`), stop() {} };
  return async (text) => {
    // A terminal that reports no width (0 columns: `script` without a terminal of its own, some CI
    // consoles) cannot have a line redrawn: ora would clear an endless number of lines, never finishing.
    if (!enabled || !io.stderrIsTTY || (io.stderr as NodeJS.WriteStream).columns === 0) return silent;
    const { default: ora } = await import('ora');
    // Coloured only where stderr's colour is on (NO_COLOR, --no-color, FORCE_COLOR=0 turn it off, as for everything else).
    const spinner = ora({ text, stream: io.stderr as NodeJS.WriteStream, discardStdin: false, isEnabled: true, color: io.colorErr ? 'cyan' : false }).start();
    let last = 0;
    return {
      update(t) {
        // A terminal needs no more than ten updates a second.
        const now = Date.now();
        if (now - last < 100) return;
        last = now;
        spinner.text = t;
      },
      note(t) {
        spinner.clear();
        io.stderr.write(`${t}\n`);
        spinner.render();
      },
      stop: () => spinner.stop(),
    };
  };
}

/** Records every update (tests). */
export function recordingProgress(log: string[]): Progress {
  return async (text) => {
    log.push(text);
    return { update: (t) => log.push(t), note: (t) => log.push(`(note) ${t}`), stop: () => log.push('(stopped)') };
  };
}
