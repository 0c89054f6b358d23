// `portalctl serve`: parse. The server itself is tested in test/server/.

import { describe, expect, it } from 'vitest';
import { parse } from '../../src/commands/serve.js';
import { codeOf, rawInput } from '../helpers/run.js';

describe('parse', () => {
  it('reads --listen HOST:PORT (IPv4, [IPv6], a host name, or :PORT for every address); without it the default applies later', () => {
    expect(parse(rawInput())).toEqual({ listen: undefined });
    expect(parse(rawInput([], { listen: '127.0.0.1:8080' }))).toEqual({ listen: { host: '127.0.0.1', port: 8080 } });
    expect(parse(rawInput([], { listen: ' [::1]:9000 ' }))).toEqual({ listen: { host: '::1', port: 9000 } });
    expect(parse(rawInput([], { listen: 'localhost:0' }))).toEqual({ listen: { host: 'localhost', port: 0 } });
    expect(parse(rawInput([], { listen: ':8080' }))).toEqual({ listen: { host: '0.0.0.0', port: 8080 } });
  });

  it('refuses anything else as invalid_listen (exit 2)', async () => {
    for (const listen of ['8080', '127.0.0.1', '127.0.0.1:65536', '[127.0.0.1]:80', '::1:80', 'bad_host:80', 'http://x:80', '-h:80'])
      expect(await codeOf(() => parse(rawInput([], { listen }))), listen).toBe('invalid_listen');
  });
});
