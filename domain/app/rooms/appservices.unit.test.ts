import { describe, expect, it } from 'vitest';
import { parseRegistration } from '../../appservices/index.ts';
import { ensureMayManageAlias } from './aliasExclusivity.ts';
import type { RoomsContext } from './context.ts';
import { massagedTimestamp } from './sending.ts';

const registration = (id: string, aliases: { regex: string; exclusive: boolean }[]) => parseRegistration({
  id, url: null, as_token: `as-${id}`, hs_token: `hs-${id}`, sender_localpart: `${id}bot`, namespaces: { aliases },
}, 'example.org', `${id}.yaml`);
const bridge = registration('bridge', [{ regex: '#bridge_.*', exclusive: true }]);
const shared = registration('shared', [{ regex: '#shared_.*', exclusive: false }]);
const ctx = { appservices: [bridge, shared] } as unknown as RoomsContext;
const alice = { userId: '@alice:example.org', deviceId: 'DEV' };

describe('alias exclusivity', () => {
  it('keeps an exclusive namespace to its bridge (and its sender\'s own token)', () => {
    expect(() => ensureMayManageAlias(ctx, alice, '#bridge_x:example.org')).toThrow(expect.objectContaining({ errcode: 'M_EXCLUSIVE', status: 400 }));
    expect(() => ensureMayManageAlias(ctx, { ...alice, appservice: bridge }, '#bridge_x:example.org')).not.toThrow();
    expect(() => ensureMayManageAlias(ctx, { userId: bridge.sender, deviceId: 'D' }, '#bridge_x:example.org')).not.toThrow();
    expect(() => ensureMayManageAlias(ctx, alice, '#shared_x:example.org')).not.toThrow();
    expect(() => ensureMayManageAlias(ctx, alice, '#hall:example.org')).not.toThrow();
  });

  it('keeps a bridge to its namespace', () => {
    expect(() => ensureMayManageAlias(ctx, { ...alice, appservice: bridge }, '#hall:example.org'))
      .toThrow(expect.objectContaining({ errcode: 'M_EXCLUSIVE', message: 'This application service has not reserved this kind of alias.' }));
    expect(() => ensureMayManageAlias(ctx, { ...alice, appservice: shared }, '#bridge_x:example.org')).toThrow(expect.objectContaining({ errcode: 'M_EXCLUSIVE' }));
  });
});

describe('timestamp massaging', () => {
  it('reads ts for application services only, as a non-negative integer', () => {
    expect(massagedTimestamp(alice, '1234')).toEqual({});
    expect(massagedTimestamp({ ...alice, appservice: bridge }, undefined)).toEqual({});
    expect(massagedTimestamp({ ...alice, appservice: bridge }, '1234')).toEqual({ originServerTs: 1234 });
    expect(massagedTimestamp({ ...alice, appservice: bridge }, '0')).toEqual({ originServerTs: 0 });
    for (const ts of ['-1', '1e3', '1.5', '', ' 1', '9007199254740992', '12345678901234567']) {
      expect(() => massagedTimestamp({ ...alice, appservice: bridge }, ts)).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM', status: 400 }));
    }
  });
});
