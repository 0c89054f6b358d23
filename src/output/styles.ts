// The styles portalctl uses, as chalk when a stream is coloured and as plain
// text otherwise. chalk is loaded only when some stream will be coloured: a
// piped or cron run never pays for it.

/** 0: no colour; 1–3: chalk's levels (16, 256, 16 million colours). */
export type ColorLevel = 0 | 1 | 2 | 3;

export interface Styles {
  level: number;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const plain = (text: string) => text;
export const PLAIN: Styles = { level: 0, bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain };

export async function stylesFor(level: ColorLevel): Promise<Styles> {
  if (level === 0) return PLAIN;
  const { Chalk } = await import('chalk');
  return new Chalk({ level });
}
