// The folder portalctl is installed in (it holds migrations/). Found from this
// module's own place: dist/install-root.js as tsc writes it, src/ under the
// tests, or dist/bundle/<chunk>.js, one folder deeper, in the bundle that
// bin/portalctl runs (scripts/bundle.mjs defines PORTALCTL_BUNDLED there).

import { fileURLToPath } from 'node:url';

declare const PORTALCTL_BUNDLED: boolean | undefined;

export const INSTALL_ROOT = fileURLToPath(new URL(typeof PORTALCTL_BUNDLED === 'boolean' ? '../../' : '../', import.meta.url));
