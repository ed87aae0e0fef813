/**
 * `npm run bench <suite> [-- options]`: benchmarks print their figures beside a baseline measured
 * in the same run, never as pass/fail timings.
 */
const suites: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  domain: () => import('./domain.ts'),
  cs: () => import('./cs/index.ts'),
  federation: () => import('./federation/index.ts'),
  media: () => import('./media/index.ts'),
  appservice: () => import('./appservice/index.ts'),
  'sliding-sync': () => import('./slidingSync/index.ts'),
  analytics: () => import('./analytics/index.ts'),
  search: () => import('./search/index.ts'),
};

const [name, ...args] = process.argv.slice(2);
const load = name === undefined ? undefined : suites[name];
if (load === undefined) {
  process.stderr.write(`usage: npm run bench <${Object.keys(suites).join('|')}> [-- options]\n`);
  process.exit(2);
}
await (await load()).run(args);
