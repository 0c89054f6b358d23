// The security headers of every answer `portalctl serve` gives: the
// Content-Security-Policy the pages are written for (no scripts, styles from
// this site only) and the rest of the set helmet's defaults give. They depend
// only on the configuration, so they are built once when the server is
// built, not for every request: the same names, values and order as
// @fastify/helmet 13 (helmet 8) sends with the options this server used.

export interface SecurityHeaderOptions {
  /**
   * Where the Step 2 form's redirect chain may lead (form-action), beyond this site: any https
   * address and the configured issuers' plain-http origins.
   */
  formActionOrigins: readonly string[];
  /** Strict-Transport-Security: only when browsers reach the server over https. */
  hsts: boolean;
}

/** [name, value] pairs, in the order they are set. */
export function securityHeaders(o: SecurityHeaderOptions): readonly (readonly [string, string])[] {
  const csp = [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self'",
    // The form's POST answers with a redirect to the login service, and browsers hold every
    // hop of that redirect chain to form-action — a login service may pass the browser
    // through hosts of its own. So: this site, any https address, and the configured issuers
    // (plain http only on this machine). Plain http elsewhere and other schemes stay refused.
    `form-action ${["'self'", 'https:', ...o.formActionOrigins].join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join(';');
  return [
    ['Content-Security-Policy', csp],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
    ['Cross-Origin-Resource-Policy', 'same-origin'],
    ['Origin-Agent-Cluster', '?1'],
    ['Referrer-Policy', 'no-referrer'],
    ...(o.hsts ? [['Strict-Transport-Security', 'max-age=31536000'] as const] : []),
    ['X-Content-Type-Options', 'nosniff'],
    ['X-DNS-Prefetch-Control', 'off'],
    ['X-Download-Options', 'noopen'],
    ['X-Frame-Options', 'DENY'],
    ['X-Permitted-Cross-Domain-Policies', 'none'],
    ['X-XSS-Protection', '0'],
  ];
}
