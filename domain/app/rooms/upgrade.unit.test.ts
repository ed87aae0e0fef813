import { describe, expect, it } from 'vitest';
import { splitCanonicalAlias } from './upgrade.ts';

describe('splitCanonicalAlias (upgrades move this server\'s aliases, as Synapse\'s _move_aliases_to_new_room)', () => {
  const moves = (alias: unknown): boolean => typeof alias === 'string' && alias.endsWith(':here.test');

  it('moves the moving alias and alt_aliases to the new room and keeps the rest, other fields included, in the old', () => {
    const split = splitCanonicalAlias({ alias: '#a:here.test', alt_aliases: ['#b:here.test', '#c:far.test'], 'org.example': 1 }, moves);
    expect(split).toEqual({
      moved: { alias: '#a:here.test', alt_aliases: ['#b:here.test'] },
      kept: { alt_aliases: ['#c:far.test'], 'org.example': 1 },
      changed: true,
    });
  });

  it('leaves a canonical alias naming nothing that moves unchanged', () => {
    const content = { alias: '#c:far.test', alt_aliases: ['#d:far.test'] };
    expect(splitCanonicalAlias(content, moves)).toEqual({ moved: {}, kept: content, changed: false });
  });

  it('drops malformed alt_aliases from both rooms', () => {
    expect(splitCanonicalAlias({ alias: '#a:here.test', alt_aliases: 'nope' }, moves))
      .toEqual({ moved: { alias: '#a:here.test' }, kept: {}, changed: true });
  });
});
