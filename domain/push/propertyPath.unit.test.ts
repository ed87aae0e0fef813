import { describe, expect, it } from 'vitest';
import { parsePropertyPath, propertyAt } from './propertyPath.ts';

describe('dot-separated property paths', () => {
  it.each([
    ['content.body', ['content', 'body']],
    ['content.m\\.relates_to.rel_type', ['content', 'm.relates_to', 'rel_type']],
    ['content.m\\\\foo', ['content', 'm\\foo']], // an escaped backslash
    ['content.m\\x', ['content', 'm\\x']], // other escapes stay as they are
    ['a\\', ['a\\']], // a trailing backslash is literal
    ['a..b', ['a', '', 'b']],
    ['', ['']],
  ])('parses %j', (key, names) => {
    expect(parsePropertyPath(key)).toEqual(names);
  });

  const event = {
    type: 'm.room.message',
    content: { 'm.relates_to': { rel_type: 'm.replace' }, m: { relates_to: 'nested' }, 'm\\foo': 1, list: [{ a: 1 }] },
  };

  it('reads nested properties, telling escaped dots from separators', () => {
    expect(propertyAt(event, 'content.m\\.relates_to.rel_type')).toBe('m.replace');
    expect(propertyAt(event, 'content.m.relates_to')).toBe('nested');
    expect(propertyAt(event, 'content.m\\\\foo')).toBe(1);
    expect(propertyAt(event, 'type')).toBe('m.room.message');
  });

  it('is undefined for absent names, steps into non-objects, arrays and prototypes', () => {
    expect(propertyAt(event, 'content.missing')).toBeUndefined();
    expect(propertyAt(event, 'type.length')).toBeUndefined();
    expect(propertyAt(event, 'content.list.0')).toBeUndefined();
    expect(propertyAt(event, 'constructor')).toBeUndefined();
    expect(propertyAt(event, '__proto__')).toBeUndefined();
    expect(propertyAt(event, 'content.toString')).toBeUndefined();
  });
});
