'use strict';
// Bundled into dist/bundle/pg.cjs in place of pg's lib/crypto/utils.js (scripts/bundle.mjs): the
// same functions over node:crypto's one-shot calls. pg's own go through WebCrypto, whose module
// takes ~5 ms to load on every command and whose every call (a SCRAM log-in makes eight) is a trip
// through libuv's thread pool, started for it. Results are Buffers where pg's are ArrayBuffers:
// pg reads both through Buffer.from().
const crypto = require('node:crypto');

const md5 = async (data) =>
  crypto
    .createHash('md5')
    .update(data, typeof data === 'string' ? 'utf8' : undefined)
    .digest('hex');

module.exports = {
  postgresMd5PasswordHash: async (user, password, salt) => `md5${await md5(Buffer.concat([Buffer.from(await md5(password + user)), salt]))}`,
  randomBytes: (length) => crypto.randomBytes(length),
  deriveKey: async (password, salt, iterations) => crypto.pbkdf2Sync(password, salt, iterations, 32, 'sha256'),
  sha256: async (data) => crypto.createHash('sha256').update(Buffer.from(data)).digest(),
  // pg asks by WebCrypto's names ("SHA-256") for the certificate hash of channel binding.
  hashByName: async (name, data) => crypto.createHash(name.replace('-', '').toLowerCase()).update(Buffer.from(data)).digest(),
  hmacSha256: async (key, msg) => crypto.createHmac('sha256', Buffer.from(key)).update(msg, 'utf8').digest(),
  md5,
};
