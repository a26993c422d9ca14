// The graphql-http conformance audit (https://github.com/graphql/graphql-http)
// against a running goalgraph server. Every request carries a valid bearer
// token, so what is audited is the GraphQL-over-HTTP behaviour, not the
// authentication in front of it.
//
//   GOALGRAPH_URL=http://127.0.0.1:8080/graphql GOALGRAPH_TOKEN=… node audit.mjs
//
// Prints every result; exits 1 when a MUST-level audit fails ("error"),
// 0 otherwise (SHOULD failures are "warn", MAY ones "notice": listed).

import { auditServer } from 'graphql-http';

const url = process.env.GOALGRAPH_URL ?? 'http://127.0.0.1:8080/graphql';
const token = process.env.GOALGRAPH_TOKEN;
if (!token) {
  console.error('GOALGRAPH_TOKEN must hold a valid token (goalgraph token --email …)');
  process.exit(2);
}

/** fetch, with the token added to whatever headers the audit sets. */
function fetchFn(input, init = {}) {
  const headers = new Headers(input instanceof Request ? input.headers : undefined);
  for (const [name, value] of new Headers(init.headers ?? {})) headers.set(name, value);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn });
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  const mark = { ok: 'ok    ', notice: 'notice', warn: 'WARN  ', error: 'ERROR ' }[result.status] ?? result.status;
  console.log(`${mark} ${result.id} ${result.name}`);
  if (result.status !== 'ok') {
    console.log(`      reason: ${result.reason}`);
    if (result.response) {
      let body = '';
      try {
        body = await result.response.text();
      } catch {
        body = '(body already read)';
      }
      console.log(`      response: ${result.response.status} ${body.slice(0, 300)}`);
    }
  }
}
console.log(
  `graphql-http audit of ${url}: ${counts.ok} ok, ${counts.notice} notice, ${counts.warn} warn, ${counts.error} error`,
);
process.exit(counts.error > 0 ? 1 : 0);
