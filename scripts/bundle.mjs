// Bundles the compiled JavaScript (dist/, from tsc) into the three files
// bin/portalctl runs: dist/bundle/portalctl.cjs (the commands),
// dist/bundle/version.cjs (a bare --version) and dist/bundle/complete.cjs
// (shell completion); and the PostgreSQL driver into dist/bundle/pg.cjs.
//
// Why (issue 15, BENCHMARKS.md "start-up"): a short command such as
// `users whoami-login` spent most of its time in Node's module loaders, not in
// portalctl — ~60 ES modules of ours and of our dependencies, each resolved,
// read, compiled and linked, and the built-in modules they import loaded in
// full. One CommonJS file is read and compiled in one go, with no ES module
// loader at all; modules inside it still run only when first imported.
//
// What stays outside, loaded from node_modules only by the commands that need
// them: the web server, the OIDC client, the mail library, the PostgreSQL
// driver, prompts, spinners, CSV and tables (EXTERNAL). A built-in module that
// Node has not loaded by itself before running a script is reached through a
// stand-in that requires it when one of its properties is first read:
// `node:crypto` (~6 ms) and commander's `node:child_process` (~5 ms) are never
// loaded by a command that does not use them.
//
// Whitespace and syntax are minified (a third less to read and parse); names
// are kept, so that a stack trace under --debug still reads.
//
// Usage: node scripts/bundle.mjs   (npm run build runs it after tsc)
import { build } from 'esbuild';
import { builtinModules, createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The built-in modules Node has loaded before it runs a script: requiring them costs nothing. */
function loadedAtStart() {
  const dir = mkdtempSync(join(tmpdir(), 'portalctl-bundle-'));
  try {
    const probe = join(dir, 'probe.cjs');
    writeFileSync(probe, 'process.stdout.write(JSON.stringify(process.moduleLoadList));');
    const list = JSON.parse(execFileSync(process.execPath, [probe], { encoding: 'utf8' }));
    return new Set(list.filter((m) => m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice('NativeModule '.length)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const free = loadedAtStart();

export const EXTERNAL = ['fastify', '@fastify/*', 'openid-client', 'nodemailer', 'pg', '@inquirer/*', 'ora', 'csv-parse', 'cli-table3'];

const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/0-9]+$/ }, (args) => {
      if (!builtins.has(args.path)) return undefined;
      // The stand-in's own require is Node's; so is that of a module Node has loaded already.
      if (args.namespace === 'lazy-builtin' || free.has(args.path.replace(/^node:/, ''))) return { path: args.path, external: true };
      return { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
      const names = Object.keys(require(args.path)).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default');
      const getters = names.map((k) => `  get ${k}() { return load().${k}; },`).join('\n');
      return {
        loader: 'js',
        contents: `let m;\nconst load = () => (m ??= require('node:${args.path}'));\nmodule.exports = {\n${getters}\n};\n`,
      };
    });
  },
};

/**
 * `import('ora')` of a library left outside becomes `__portalctlImport('ora')`: bin/load-bundle.cjs
 * compiles the bundle through node:vm, whose own import() Node 20 allows only behind a flag, and
 * passes in a function that imports from its own (ordinary) file.
 */
const externalImports = {
  name: 'external-imports',
  setup(b) {
    const isExternal = (spec) => EXTERNAL.some((e) => (e.endsWith('/*') ? spec.startsWith(e.slice(0, -1)) : spec === e || spec.startsWith(`${e}/`)));
    b.onLoad({ filter: /\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source.replace(/\bimport\((['"])([^'"]+)\1\)/g, (call, _q, spec) => (isExternal(spec) ? `__portalctlImport('${spec}')` : call));
      return { contents, loader: 'js' };
    });
  },
};

const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { portalctl: 'cli/main.js', version: 'cli/version.js', complete: 'cli/complete.js' },
  absWorkingDir: join(root, 'dist'),
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  plugins: [lazyBuiltins, externalImports],
  // Source that finds files beside itself asks src/install-root.ts, which knows the bundle sits
  // one folder deeper than tsc's output; import.meta.url is this file's own URL.
  define: { PORTALCTL_BUNDLED: 'true', 'import.meta.url': '__portalctlUrl' },
  banner: { js: "const __portalctlUrl = require('node:url').pathToFileURL(__filename).href;" },
  // For --debug (bin/load-bundle.cjs): a stack trace names src/*.ts, through tsc's maps of dist/.
  sourcemap: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
});

// bin/portalctl requires these two as they are: nothing in them may need load-bundle's import function.
for (const name of ['version.cjs', 'complete.cjs']) {
  if (readFileSync(join(outdir, name), 'utf8').includes('__portalctlImport'))
    throw new Error(`${name} imports a library left outside the bundle; load it with loadBundle()`);
}

// The PostgreSQL driver in a file of its own, dist/bundle/pg.cjs, loaded (with its compiled code)
// only when a command opens a PostgreSQL store: ~25 files read and compiled one by one took
// ~36 ms of every such command, the one file ~13 ms. pg-native, which pg loads only when asked
// for it, stays outside.
// pg's lib/crypto/utils.js is replaced by scripts/pg-node-crypto.cjs (why: in that file).
const pgCrypto = join(root, 'node_modules', 'pg', 'lib', 'crypto', 'utils.js');
const pgNodeCrypto = {
  name: 'pg-node-crypto',
  setup(b) {
    b.onResolve({ filter: /utils$/ }, (args) =>
      join(args.resolveDir, `${args.path}.js`) === pgCrypto ? { path: join(root, 'scripts', 'pg-node-crypto.cjs') } : undefined,
    );
  },
};
await build({
  stdin: { contents: "module.exports = require('pg');", resolveDir: root, sourcefile: 'pg-entry.cjs' },
  outfile: join(outdir, 'pg.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['pg-native'],
  plugins: [pgNodeCrypto],
  // For --debug (bin/load-bundle.cjs): a stack trace names src/*.ts, through tsc's maps of dist/.
  sourcemap: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
});

// The compiled code of the command tree and of the driver, for bin/load-bundle.cjs. Made after each
// file's top level has run, so that it holds what a command compiles at start.
const { loadBundle } = createRequire(import.meta.url)('../bin/load-bundle.cjs');
loadBundle('portalctl.cjs', { writeCache: true });
loadBundle('pg.cjs', { writeCache: true });
