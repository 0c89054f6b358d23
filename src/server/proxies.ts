// Which addresses a header service believes: the proxies (a SAML service
// provider such as Shibboleth) that set the header after the person signed
// in. Judged by the address of the connection itself — never by
// X-Forwarded-For, which anyone can write.

import { BlockList, isIP } from 'node:net';
import { UsageError } from '../errors.js';
import { quote } from '../text.js';

/** An IPv4 address written as IPv6 (::ffff:127.0.0.1) is the IPv4 address. */
export function plainAddress(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m ? m[1]! : address;
}

/** Checks a list of addresses and networks (127.0.0.1, 10.0.0.0/8, ::1, fd00::/8); throws a usage error naming a bad one. */
export function proxyMatcher(list: readonly string[], where: string): (address: string | undefined) => boolean {
  const allowed = new BlockList();
  for (const raw of list) {
    const entry = raw.trim();
    const [addr, bits, extra] = entry.split('/');
    const family = isIP(addr ?? '');
    const prefix = bits === undefined ? undefined : Number(bits);
    const max = family === 4 ? 32 : 128;
    if (!family || extra !== undefined || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || prefix! > max))) {
      throw new UsageError(`${where}: ${quote(raw)} is not an IP address or network (such as 127.0.0.1 or 10.0.0.0/8).`, 'invalid_config');
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) allowed.addAddress(plainAddress(addr!), type);
    else allowed.addSubnet(addr!, prefix, type);
  }
  return (address) => {
    if (!address) return false;
    const a = plainAddress(address);
    const family = isIP(a);
    return family !== 0 && allowed.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** True when the list lets in everyone (0.0.0.0/0, ::/0): worth a warning. */
export function trustsEveryone(list: readonly string[]): boolean {
  return list.some((e) => /^(0\.0\.0\.0|::)\/0$/.test(e.trim()));
}
