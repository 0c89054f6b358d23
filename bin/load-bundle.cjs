'use strict';
// Loads one of dist/bundle/'s CommonJS files as require() would, with V8's
// code cache: `npm run build` compiles the file once and saves the compiled
// code beside it (scripts/bundle.mjs), so that a command does not spend
// ~20 ms parsing half a megabyte of JavaScript at every start. (Node 22 does
// this itself with module.enableCompileCache(); Node 20 does not.)
//
// The cache is named after the size and modification time of the file it
// was made from, so a rebuilt or edited bundle never runs with a stale one.
// V8 checks the rest (its version, its flags) and ignores a cache that does
// not fit: the file is then compiled as usual.
const { readFileSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const BUNDLE = join(__dirname, '..', 'dist', 'bundle');

/** Where the compiled code of `filename` is kept, for the file as it is now. */
function cacheFileFor(filename) {
  const { size, mtimeMs } = statSync(filename);
  return `${filename}.${size}-${Math.trunc(mtimeMs)}.v8cache`;
}

let debugging = false;

/**
 * --debug: from now on bundles load as ordinary CommonJS files, with source maps, so that a stack
 * trace names the TypeScript the code came from (src/store/open.ts:31:11) instead of a column of a
 * minified line. node:vm does not read source maps; require() does. Slower to start, on purpose only.
 */
function debugBundles() {
  debugging = true;
  process.setSourceMapsEnabled(true);
  // The bundle's imports of the libraries left outside it, as load-bundle passes them in below.
  globalThis.__portalctlImport = (specifier) => import(specifier);
}

/** The exports of dist/bundle/NAME (`dir`: another folder, for tests). */
function loadBundle(name, { writeCache = false, dir = BUNDLE } = {}) {
  const filename = join(dir, name);
  if (debugging) return require(filename);
  const cacheFile = cacheFileFor(filename);
  let cachedData;
  if (!writeCache) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // not built, or built for another version of the file
    }
  }
  const source = readFileSync(filename, 'utf8');
  const script = new Script(`(function (exports, require, module, __filename, __dirname, __portalctlImport) {${source}\n})`, { filename, cachedData });
  const mod = { exports: {} };
  // The bundle imports the libraries left outside it (ora, prompts) through this function: import()
  // in code compiled by node:vm needs a flag on Node 20, import() here does not.
  const importLibrary = (specifier) => import(specifier);
  script.runInThisContext()(mod.exports, createRequire(filename), mod, filename, dirname(filename), importLibrary);
  if (writeCache) writeFileSync(cacheFile, script.createCachedData());
  return mod.exports;
}

module.exports = { loadBundle, cacheFileFor, debugBundles };
