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
});
