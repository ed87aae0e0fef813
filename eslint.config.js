// Lint rules that keep the architecture honest: domain/ stays free of I/O, code outside a
// top-level folder reaches into it only through an index.ts, and production code never imports test code.
import path from 'node:path';
import tseslint from 'typescript-eslint';

const TOP_LEVEL = ['domain', 'projections', 'gateways', 'infra', 'test'];
const root = path.dirname(new URL(import.meta.url).pathname);

const ioModules = [
  'kafkajs', 'pg', '@clickhouse/client', 'koa', '@koa/router', 'ws', 'pino', 'prom-client',
  '@electric-sql/pglite', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net',
  'http', 'node:http', 'https', 'node:https', 'child_process', 'node:child_process', 'dgram',
  'node:dgram', 'worker_threads', 'node:worker_threads',
];

const topLevelOf = (file) => {
  const rel = path.relative(root, file).split(path.sep);
  return TOP_LEVEL.includes(rel[0]) ? rel[0] : undefined;
};

/** Imports that cross into another top-level folder must name an index.ts. */
const noDeepImports = {
  meta: { type: 'problem', messages: { deep: "Import '{{source}}' through its folder's index.ts" } },
  create(context) {
    const check = (node) => {
      const source = node.source && node.source.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const from = topLevelOf(context.filename);
      const target = path.resolve(path.dirname(context.filename), source);
      const to = topLevelOf(target);
      if (from === to || to === undefined) return;
      if (path.basename(target) !== 'index.ts') context.report({ node, messageId: 'deep', data: { source } });
    };
    return { ImportDeclaration: check, ExportAllDeclaration: check, ExportNamedDeclaration: check };
  },
};

/** Production code never imports test code: harnesses, builders and contract suites live in test/. */
const noTestImports = {
  meta: { type: 'problem', messages: { test: "Production code imports test code '{{source}}'" } },
  create(context) {
    const from = topLevelOf(context.filename);
    // Root-level config files (vitest.config.ts) are tooling, not production code.
    if (from === undefined || from === 'test' || /\.test\.ts$/.test(context.filename)) return {};
    const check = (node) => {
      const source = node.source && node.source.value;
      if (typeof source !== 'string') return;
      if (source === 'vitest' || source.startsWith('vitest/')) {
        context.report({ node, messageId: 'test', data: { source } });
        return;
      }
      if (!source.startsWith('.')) return;
      const target = path.resolve(path.dirname(context.filename), source);
      if (topLevelOf(target) === 'test') context.report({ node, messageId: 'test', data: { source } });
    };
    return { ImportDeclaration: check, ExportAllDeclaration: check, ExportNamedDeclaration: check };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', 'data/**', '.services/**', 'coverage/**', 'dist/**'] },
  ...tseslint.configs.recommended,
  {
    plugins: { strata: { rules: { 'no-deep-imports': noDeepImports, 'no-test-imports': noTestImports } } },
    rules: {
      'strata/no-deep-imports': 'error',
      'strata/no-test-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ioModules.map((name) => ({ name, message: 'domain/ is pure: no I/O imports (declare a port in domain/ports instead)' })),
      }],
    },
  },
);
