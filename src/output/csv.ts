// CSV (RFC 4180) for spreadsheets: every field quoted when it needs to be,
// CRLF line ends, and — per OWASP's advice on CSV injection — a field that a
// spreadsheet would run as a formula (=, +, -, @, tab, CR at its start) is
// prefixed with a single quote.

const FORMULA = /^[=+\-@\t\r]/;

export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = FORMULA.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(fields: (string | number | null)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}
