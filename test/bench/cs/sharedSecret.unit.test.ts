import { describe, expect, it } from 'vitest';
import { registrationMac } from './sharedSecret.ts';

// Expected values computed with Python's hmac module, as Synapse's register_new_matrix_user does.
describe('registrationMac', () => {
  it('matches HMAC-SHA1 over nonce\\0user\\0password\\0notadmin', () => {
    const mac = registrationMac('synapse-bench-secret', { nonce: 'abcnonce', username: 'alice', password: 'hunter2', admin: false });
    expect(mac).toBe('1a920bc9761e3f59fbf8e929a38e6b80387eb18d');
  });

  it('uses "admin" for administrators', () => {
    expect(registrationMac('s', { nonce: 'n', username: 'u', password: 'p', admin: true })).toBe('36174be8366e0fee3769a523fcbbae61a8f8f1d9');
  });
});
