/**
 * Builds the analytics dashboard into dist/dashboard (git-ignored): the TypeScript sources and
 * Chart.js bundled by esbuild into one script, the style sheet, and the page naming both by their
 * content hash (so they may be cached for good). `npm run build` runs it; `npm start` runs that
 * first (prestart), the e2e test setup too.
 *   usage: node gateways/analytics/dashboard/build.ts
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const SOURCE_DIR = fileURLToPath(new URL('./', import.meta.url));
const OUT_DIR = fileURLToPath(new URL('../../../dist/dashboard/', import.meta.url));

/**
 * Servers may be starting while another test run builds: the new hashed files are written beside
 * the old ones, the page is swapped in by a rename, and only then are the old files removed.
 */
export const buildDashboard = async (outDir: string = OUT_DIR): Promise<{ script: string; style: string }> => {
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: path.join(SOURCE_DIR, 'src/main.ts'), style: path.join(SOURCE_DIR, 'style.css') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    platform: 'browser',
    outdir: outDir,
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
  const script = outputs.find((name) => name.startsWith('app-') && name.endsWith('.js'));
  const style = outputs.find((name) => name.startsWith('style-') && name.endsWith('.css'));
  if (script === undefined || style === undefined) throw new Error(`the dashboard build wrote ${outputs.join(', ')}`);
  const page = (await readFile(path.join(SOURCE_DIR, 'index.html'), 'utf8'))
    .replace('{{script}}', script).replace('{{style}}', style);
  const staging = path.join(outDir, `.index.html.${process.pid}`);
  await writeFile(staging, page);
  await rename(staging, path.join(outDir, 'index.html'));
  const keep = new Set([...outputs, 'index.html']);
  for (const name of await readdir(outDir)) {
    if (!keep.has(name) && !name.startsWith('.index.html.')) await rm(path.join(outDir, name), { force: true, recursive: true });
  }
  return { script, style };
};

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { script, style } = await buildDashboard();
  console.log(`dashboard built in ${path.relative(process.cwd(), OUT_DIR) || '.'}: index.html, ${script}, ${style}`);
}
