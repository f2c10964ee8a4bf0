// Content-Security-Policy for the two pages this server renders. Both allow nothing from outside
// and no inline script: the dashboard runs only /dashboard.js; GraphiQL's page is one inline
// script, allowed by its hash (plus what it loads itself, through 'strict-dynamic').
import { createHash } from 'node:crypto';

const COMMON = "default-src 'none'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const DASHBOARD_CSP = `${COMMON}; script-src 'self'; style-src 'self'`;

/** GraphiQL's CSP: its inline scripts by hash; its editor sets inline styles and runs blob: workers. */
export function graphiqlCsp(html: string): string {
  const hashes = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
  );
  return `${COMMON}; script-src ${hashes.join(' ')} 'strict-dynamic'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; worker-src 'self' blob:`;
}
