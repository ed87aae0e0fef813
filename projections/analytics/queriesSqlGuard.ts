/**
 * What an analyst's SQL may be: one SELECT over the warehouse's metadata tables, nothing else.
 * ClickHouse's `readonly=1` already stops writes and setting changes; this guard stops reads of
 * anything but the analytics tables (system.*, other databases, table functions reaching files,
 * URLs or other servers, dictionaries) and shapes the server would run differently than we asked
 * (a FORMAT, SETTINGS, INTO OUTFILE, a second statement).
 *
 * It reads the query as ClickHouse's lexer does — string literals with backslash escapes and
 * doubled quotes, `quoted` and "quoted" identifiers, comments — so `'system.tables'` in a string is
 * data while `/* *\/ system . tables` is a table. Wherever the two could read a text differently
 * (`#` comments, `$` heredocs, `{}` parameters, a comment inside a comment, stray bytes) the query is
 * refused rather than guessed at.
 */
import { MatrixError } from '../../domain/index.ts';

export type SqlTokenKind = 'word' | 'quoted' | 'string' | 'number' | 'punct';

export interface SqlToken {
  readonly kind: SqlTokenKind;
  /** A word or identifier's name (unescaped), a string's raw text, a number, or the punctuation. */
  readonly text: string;
}

const refuse = (reason: string): MatrixError => new MatrixError('M_INVALID_PARAM', 400, `Query refused: ${reason}`);

const isWordStart = (c: string): boolean => /[A-Za-z_]/.test(c) || c.charCodeAt(0) >= 0x80;
const isWordPart = (c: string): boolean => /[A-Za-z0-9_]/.test(c) || c.charCodeAt(0) >= 0x80;

/** Operators and separators a SELECT needs; anything else outside a literal is refused. */
const PUNCTUATION = ['::', '->', '||', '<=', '>=', '!=', '<>', '==', '(', ')', ',', '.', ';', '+', '-', '*', '/', '%', '=', '<', '>', '[', ']', '?', ':'];

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '0': '\0', b: '\b', f: '\f' };

/** Reads a quoted literal starting at `start` (the quote); returns its unescaped text and the index after it. */
const quoted = (sql: string, start: number, quote: string): { text: string; end: number } => {
  let text = '';
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '\\') {
      if (i + 1 >= sql.length) break;
      const escaped = sql[i + 1]!;
      text += ESCAPES[escaped] ?? escaped;
      i += 2;
    } else if (c === quote) {
      if (sql[i + 1] === quote) {
        text += quote;
        i += 2;
      } else {
        return { text, end: i + 1 };
      }
    } else {
      text += c;
      i++;
    }
  }
  throw refuse(`an unterminated ${quote === "'" ? 'string' : 'quoted identifier'}`);
};

export const tokenizeSql = (sql: string): SqlToken[] => {
  const tokens: SqlToken[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw refuse('an unterminated comment');
      // Some ClickHouse versions nest comments: a comment opened inside one could hide text from us.
      if (sql.slice(i + 2, end).includes('/*')) throw refuse('a comment inside a comment');
      i = end + 2;
    } else if (c === "'") {
      const { text, end } = quoted(sql, i, c);
      tokens.push({ kind: 'string', text });
      i = end;
    } else if (c === '`' || c === '"') {
      const { text, end } = quoted(sql, i, c);
      tokens.push({ kind: 'quoted', text });
      i = end;
    } else if (/[0-9]/.test(c)) {
      // Hex, binary, decimal with fraction and exponent; letters after it read as a word (checked as one).
      const match = /^(?:0[xX][0-9A-Fa-f_]+|0[bB][01_]+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9]+)?)/.exec(sql.slice(i))!;
      tokens.push({ kind: 'number', text: match[0] });
      i += match[0].length;
    } else if (isWordStart(c)) {
      let end = i + 1;
      while (end < sql.length && isWordPart(sql[end]!)) end++;
      tokens.push({ kind: 'word', text: sql.slice(i, end) });
      i = end;
    } else {
      const punct = PUNCTUATION.find((p) => sql.startsWith(p, i));
      if (punct === undefined) throw refuse(`the character ${JSON.stringify(c)} at position ${i}`);
      tokens.push({ kind: 'punct', text: punct });
      i += punct.length;
    }
  }
  return tokens;
};

/** Statements and clauses a read must not carry (readonly=1 refuses most of them too). */
const FORBIDDEN_WORDS = new Set([
  'insert', 'alter', 'drop', 'create', 'kill', 'system', 'optimize', 'attach', 'detach', 'rename', 'truncate', 'grant',
  'revoke', 'set', 'settings', 'format', 'into', 'outfile', 'use', 'show', 'describe', 'exchange', 'undrop', 'delete',
  'update', 'check', 'watch', 'backup', 'restore', 'move', 'explain', 'information_schema',
]);

/** Table functions and functions that read outside the warehouse's tables (compared lower-case). */
const FORBIDDEN_FUNCTIONS = new Set([
  'url', 'urlcluster', 'file', 'filecluster', 'remote', 'remotesecure', 'cluster', 'clusterallreplicas', 'mysql',
  'postgresql', 'jdbc', 'odbc', 'hdfs', 'hdfscluster', 's3', 's3cluster', 'gcs', 'oss', 'cosn', 'azureblobstorage',
  'azureblobstoragecluster', 'input', 'merge', 'mergetreeindex', 'mergetreeprojection', 'generaterandom', 'values',
  'view', 'viewifpermitted', 'viewexplain', 'dictionary', 'executable', 'sqlite', 'mongodb', 'redis', 'iceberg',
  'icebergs3', 'icebergazure', 'iceberghdfs', 'deltalake', 'hudi', 'null', 'loop', 'numbers', 'numbers_mt', 'zeros',
  'zeros_mt', 'primes', 'fuzzjson', 'fuzzquery', 'timeseriesdata', 'timeseriestags', 'timeseriesmetrics', 'arrowflight',
  'ytsaurus', 'paimon', 'joinget', 'joingetornull', 'hascolumnintable', 'getmacro', 'filesystemavailable',
  'filesystemcapacity', 'filesystemunreserved',
]);

/**
 * Clause keywords that end a FROM list (commas after them are not joins). Modifiers inside the
 * list (AS, FINAL, SAMPLE, ON, USING, the join kinds) do not: `FROM a FINAL, b` still reads b.
 */
const FROM_END = new Set([
  'where', 'prewhere', 'group', 'order', 'limit', 'having', 'union', 'except', 'intersect', 'window', 'qualify', 'array',
  'select', 'offset', 'fetch', 'interpolate',
]);

/** Words after a table that are not its alias. */
const NOT_ALIAS = new Set([
  ...FROM_END, 'on', 'using', 'sample', 'final', 'join', 'left', 'right', 'inner', 'outer', 'full', 'cross', 'any', 'all',
  'asof', 'semi', 'anti', 'global', 'paste', 'natural', 'by', 'as', 'with',
]);

/** IN and its function forms: a bare name on their right is a table. */
const IN_FAMILY = new Set([
  'in', 'notin', 'globalin', 'globalnotin', 'nullin', 'notnullin', 'globalnullin', 'globalnotnullin', 'inignoreset',
]);

/** Deeper nesting is no analyst's question, and an old server's recursive parser may not survive it. */
const MAX_NESTING = 64;

export interface SqlGuardScope {
  /** The analytics database's name (a table may be qualified with it). */
  readonly database: string;
  /** The only tables a query may read. */
  readonly tables: readonly string[];
}

const nameOf = (token: SqlToken | undefined): string | undefined =>
  token !== undefined && (token.kind === 'word' || token.kind === 'quoted') ? token.text : undefined;
const isPunct = (token: SqlToken | undefined, text: string): boolean => token?.kind === 'punct' && token.text === text;
const isWord = (token: SqlToken | undefined, word: string): boolean => token?.kind === 'word' && token.text.toLowerCase() === word;

/**
 * Throws M_INVALID_PARAM with the reason when `sql` is anything but one SELECT over `scope`'s
 * tables; returns the statement without a trailing semicolon.
 */
export const guardAnalystSql = (sql: string, scope: SqlGuardScope): string => {
  const tokens = tokenizeSql(sql);
  let statement = sql;
  if (isPunct(tokens.at(-1), ';')) {
    tokens.pop();
    statement = statement.slice(0, statement.lastIndexOf(';'));
  }
  if (tokens.length === 0) throw refuse('it is empty');
  if (tokens.some((t) => isPunct(t, ';'))) throw refuse('one statement at a time');
  if (!isWord(tokens[0], 'select') && !isWord(tokens[0], 'with')) throw refuse('only SELECT (or WITH ... SELECT) is allowed');

  let nesting = 0;
  for (const token of tokens) {
    if (isPunct(token, '(') || isPunct(token, '[')) nesting++;
    if (isPunct(token, ')') || isPunct(token, ']')) nesting--;
    if (nesting > MAX_NESTING) throw refuse(`parentheses nested deeper than ${MAX_NESTING}`);
  }

  const tables = new Set(scope.tables.map((t) => t.toLowerCase()));
  const database = scope.database.toLowerCase();
  // Names the query declares: aliases (`AS x`, `FROM t x`) qualify columns; common table
  // expressions (`x AS (`) may also stand where a table does.
  const declared = new Set<string>();
  const ctes = new Set<string>();
  tokens.forEach((token, i) => {
    const name = nameOf(tokens[i + 1]);
    if (isWord(token, 'as') && name !== undefined) declared.add(name.toLowerCase());
    const cte = nameOf(token);
    if (cte !== undefined && isWord(tokens[i + 1], 'as') && isPunct(tokens[i + 2], '(')) ctes.add(cte.toLowerCase());
  });

  const checkTable = (i: number): number => {
    const first = nameOf(tokens[i]);
    if (first === undefined) return i; // a subquery or a list: its own tokens are checked as everything else
    if (isPunct(tokens[i + 1], '(')) throw refuse(`table functions such as ${first}() are not allowed`);
    let table = first.toLowerCase();
    let end = i + 1;
    if (isPunct(tokens[i + 1], '.')) {
      const second = nameOf(tokens[i + 2]);
      if (second === undefined) throw refuse(`${first}. names no table`);
      if (table !== database) throw refuse(`only the analytics database (${scope.database}) may be read, not ${first}`);
      table = second.toLowerCase();
      end = i + 3;
    }
    if (!tables.has(table) && (end !== i + 1 || !ctes.has(table))) {
      throw refuse(`${table} is not one of the analytics tables (${scope.tables.join(', ')})`);
    }
    // An implicit alias: FROM analytics_events e
    const alias = nameOf(tokens[end]);
    if (alias !== undefined && tokens[end]!.kind === 'quoted') declared.add(alias.toLowerCase());
    if (alias !== undefined && tokens[end]!.kind === 'word' && !NOT_ALIAS.has(alias.toLowerCase())) declared.add(alias.toLowerCase());
    return end;
  };

  /**
   * The right of IN (or any argument of its function forms): a name there is a table, also in
   * parentheses (`IN (t)`, `in(x, db.t)`), so every element of the group that is only a name must
   * be an analytics table. A column there (`IN (a, b)`) is refused too: rare, and ClickHouse may
   * read it as a table.
   */
  const checkInOperand = (i: number): void => {
    if (nameOf(tokens[i]) !== undefined) {
      checkTable(i);
      return;
    }
    if (!isPunct(tokens[i], '(')) return;
    let level = 0;
    let elementStart = i + 1;
    for (let j = i; j < tokens.length; j++) {
      if (isPunct(tokens[j], '(')) level++;
      const closes = isPunct(tokens[j], ')');
      if (closes) level--;
      if ((level === 1 && isPunct(tokens[j], ',')) || (closes && level === 0)) {
        const length = j - elementStart;
        const bare = (length === 1 && nameOf(tokens[elementStart]) !== undefined)
          || (length === 3 && nameOf(tokens[elementStart]) !== undefined && isPunct(tokens[elementStart + 1], '.') && nameOf(tokens[elementStart + 2]) !== undefined);
        if (bare) checkTable(elementStart);
        elementStart = j + 1;
      }
      if (closes && level === 0) return;
    }
  };

  // Depth of each open FROM list (by parenthesis depth), to read `FROM a, b` as two tables.
  const fromLists: number[] = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const lower = token.text.toLowerCase();
    if (token.kind === 'punct') {
      if (token.text === '(') depth++;
      if (token.text === ')') {
        depth--;
        while (fromLists.length > 0 && fromLists.at(-1)! > depth) fromLists.pop();
      }
      if (token.text === ',' && fromLists.at(-1) === depth) checkTable(i + 1);
      continue;
    }
    if (token.kind === 'word' || token.kind === 'quoted') {
      if (lower === 'system' || lower === 'information_schema') throw refuse(`${token.text} tables are not analytics tables`);
      // format(...) is a string function; the FORMAT clause is never followed by a parenthesis.
      const isFormatFunction = lower === 'format' && isPunct(tokens[i + 1], '(');
      if (token.kind === 'word' && FORBIDDEN_WORDS.has(lower) && !isFormatFunction) throw refuse(`${token.text.toUpperCase()} is not allowed`);
      if (isPunct(tokens[i + 1], '(') && (FORBIDDEN_FUNCTIONS.has(lower) || lower.startsWith('dict'))) {
        throw refuse(`the function ${token.text}() reads outside the analytics tables`);
      }
    }
    if (token.kind === 'word') {
      if (lower === 'from' || (lower === 'join' && !isWord(tokens[i - 1], 'array'))) {
        if (fromLists.at(-1) === depth) fromLists.pop();
        fromLists.push(depth);
        checkTable(i + 1);
        continue;
      }
      if (IN_FAMILY.has(lower)) checkInOperand(i + 1);
      if (FROM_END.has(lower) && fromLists.at(-1) === depth) fromLists.pop();
    }
    // A qualified name (db.table or alias.column): its qualifier must be ours.
    const qualifier = nameOf(token);
    if (qualifier !== undefined && isPunct(tokens[i + 1], '.') && nameOf(tokens[i + 2]) !== undefined) {
      const q = qualifier.toLowerCase();
      if (q === database) {
        if (!tables.has(tokens[i + 2]!.text.toLowerCase())) throw refuse(`${tokens[i + 2]!.text} is not one of the analytics tables`);
      } else if (!tables.has(q) && !declared.has(q) && !ctes.has(q)) {
        throw refuse(`${qualifier}.${tokens[i + 2]!.text} names neither an analytics table nor an alias`);
      }
    }
  }
  return statement;
};
