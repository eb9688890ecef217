// Runs graphql-http's GraphQL-over-HTTP server audits against URL and prints every result.
// Exit status: 0 when no MUST audit fails and no SHOULD audit warns; 1 otherwise; 2 on bad usage.
// MAY audits that do not pass are reported as notices (graphql-http's own level) and never fail the run.
// Usage: node audit.mjs http://127.0.0.1:8000/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}

const levelOf = (name) => name.split(' ')[0]; // "MUST", "SHOULD" or "MAY"
const counts = {};
let failing = 0;
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  const level = levelOf(audit.name);
  const key = `${level} ${result.status}`;
  counts[key] = (counts[key] || 0) + 1;
  const blocking = result.status !== 'ok' && (level === 'MUST' || level === 'SHOULD');
  if (blocking) failing += 1;
  const mark = result.status === 'ok' ? 'ok  ' : blocking ? 'FAIL' : 'may ';
  console.log(`${mark} [${audit.id}] ${audit.name}${result.status === 'ok' ? '' : ` -- ${result.reason}`}`);
}
const count = (level, status) => counts[`${level} ${status}`] || 0;
console.log(
  `summary: MUST ${count('MUST', 'ok')} ok / ${count('MUST', 'error')} errors; ` +
    `SHOULD ${count('SHOULD', 'ok')} ok / ${count('SHOULD', 'warn')} warnings; ` +
    `MAY ${count('MAY', 'ok')} ok / ${count('MAY', 'notice')} notices`,
);
process.exit(failing === 0 ? 0 : 1);
