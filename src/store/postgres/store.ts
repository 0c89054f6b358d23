// The PostgreSQL store (placeholder until it lands).

import { StoreError, EXIT } from '../../errors.js';
import type { Store } from '../types.js';

export class PostgresStore {
  static async open(_url: string, _opts: { create: boolean; password?: string; env: NodeJS.ProcessEnv; migrate: boolean }): Promise<Store> {
    throw new StoreError('store_unavailable', 'PostgreSQL stores are not supported by this build yet.', EXIT.usage);
  }
}
