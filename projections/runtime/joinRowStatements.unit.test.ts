import { describe, expect, it } from 'vitest';
import type { SqlStatement } from '../../domain/ports/index.ts';
import { joinRowStatements } from './positions.ts';

const row = (text: string, ...values: unknown[]): SqlStatement => ({ text, values: values.map((value) => [value]), rows: true });

describe('joinRowStatements', () => {
  it('joins each run of row statements of one text, keeping every other statement where it was', () => {
    const input: SqlStatement[] = [
      row('INSERT a', 1, 'x'), row('INSERT a', 2, 'y'), row('INSERT a', 3, 'z'),
      { text: 'DELETE a', values: [2] },
      row('INSERT a', 4, 'w'), row('INSERT b', 5, 'v'), row('INSERT b', 6, 'u'),
      { text: 'INSERT a', values: [7, 't'] },
    ];
    const before = JSON.stringify(input);
    expect(joinRowStatements(input)).toEqual([
      { text: 'INSERT a', values: [[1, 2, 3], ['x', 'y', 'z']], rows: true },
      { text: 'DELETE a', values: [2] },
      { text: 'INSERT a', values: [[4], ['w']], rows: true },
      { text: 'INSERT b', values: [[5, 6], ['v', 'u']], rows: true },
      { text: 'INSERT a', values: [7, 't'] },
    ]);
    expect(JSON.stringify(input)).toBe(before);
  });

  it('joins independent row statements of one text across the whole batch, after every other statement', () => {
    const bind = (key: string, event: string): SqlStatement => ({ ...row('UPDATE keys', key, event), independent: true });
    const input: SqlStatement[] = [
      { text: 'INSERT event', values: ['$1'] }, bind('k1', '$1'),
      { text: 'INSERT event', values: ['$2'] }, bind('k2', '$2'),
      row('INSERT a', 1), row('INSERT a', 2), bind('k3', '$3'), row('INSERT a', 3),
    ];
    expect(joinRowStatements(input)).toEqual([
      { text: 'INSERT event', values: ['$1'] },
      { text: 'INSERT event', values: ['$2'] },
      { text: 'INSERT a', values: [[1, 2, 3]], rows: true },
      { text: 'UPDATE keys', values: [['k1', 'k2', 'k3'], ['$1', '$2', '$3']], rows: true, independent: true },
    ]);
    expect(input[1]!.values).toEqual([['k1'], ['$1']]);
  });
});
