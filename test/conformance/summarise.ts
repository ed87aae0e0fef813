/**
 * Prints the violations recorded under STRATA_VALIDATE_SPEC=1, grouped by operation, status and
 * violation, with how often each was seen and one test that saw it:
 *   sh infra/node/run.sh test/conformance/summarise.ts [file]
 */
import { readFileSync } from 'node:fs';
import { violationsFile, type RecordedViolation } from './specHook.ts';

const file = process.argv[2] ?? violationsFile();
const records = readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as RecordedViolation);

const groups = new Map<string, { count: number; example: RecordedViolation }>();
for (const record of records) {
  for (const violation of record.violations) {
    // Map keys (room ids, user ids) vary between runs: fold bracketed keys so one finding is one line.
    const at = violation.at.replace(/\["[^"]*"\]/g, '[*]').replace(/\[\d+\]/g, '[i]');
    const key = `${record.operation} | ${record.method} ${record.status}${record.documented ? '' : ' (undocumented status)'} | ${at}: ${violation.message}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { count: 1, example: record });
    else group.count += 1;
  }
}
for (const [key, { count, example }] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`${key}  ×${count}  e.g. ${example.method} ${example.path} in "${example.test ?? '?'}"`);
}
console.log(`${records.length} responses with violations, ${groups.size} distinct findings (${file})`);
