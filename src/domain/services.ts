// The built-in login services (SPEC "Words"): their keys and names.

import { UsageError } from '../errors.js';
import { quote } from '../text.js';

/** The built-in login services, in the order the Step 2 page offers them. */
export const LOGIN_SERVICES = [
  { key: 'nih', name: 'NIH Network Login' },
  { key: 'ims-employee', name: 'IMS Employee Login' },
  { key: 'ims', name: 'IMS Login Service' },
] as const;

export type ServiceKey = (typeof LOGIN_SERVICES)[number]['key'];

export const SERVICE_KEYS: readonly string[] = LOGIN_SERVICES.map((s) => s.key);

export function serviceName(key: string | null | undefined): string | null {
  if (!key) return null;
  return LOGIN_SERVICES.find((s) => s.key === key)?.name ?? null;
}

export function parseServiceKey(value: string): ServiceKey {
  const found = LOGIN_SERVICES.find((s) => s.key === value.trim().toLowerCase());
  if (!found) {
    throw new UsageError(`Unknown login service ${quote(value)}; use one of: ${SERVICE_KEYS.join(', ')}.`, 'invalid_service');
  }
  return found.key;
}
