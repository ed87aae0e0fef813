import { describe, expect, it } from 'vitest';
import { createArgon2PasswordHasher } from './argon2PasswordHasher.ts';

describe('argon2id password hasher', () => {
  const hasher = createArgon2PasswordHasher();

  it('writes a PHC string with the OWASP parameters and a fresh salt', async () => {
    const first = await hasher.hash('correct horse');
    const second = await hasher.hash('correct horse');
    expect(first).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(second).not.toBe(first);
  });

  it('verifies the right password only', async () => {
    const hash = await hasher.hash('correct horse');
    expect(await hasher.verify('correct horse', hash)).toBe(true);
    expect(await hasher.verify('correct horsf', hash)).toBe(false);
    expect(await hasher.verify('', hash)).toBe(false);
  });

  it('verifies hashes made with other parameters, as the string names them', async () => {
    const cheap = await createArgon2PasswordHasher({ memory: 1024, passes: 3, parallelism: 2 }).hash('pw');
    expect(cheap).toContain('$m=1024,t=3,p=2$');
    expect(await hasher.verify('pw', cheap)).toBe(true);
  });

  it('matches the RFC 9106 argon2id construction (cross-checked against a known PHC hash)', async () => {
    // Produced by the reference implementation: `echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -l 32`
    const reference = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc';
    expect(await hasher.verify('password', reference)).toBe(true);
  });

  it('answers false, never throws, for malformed or foreign hashes', async () => {
    for (const bad of ['', 'plain', '$2b$12$abcdefghijklmnopqrstuu', '$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA', '$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g']) {
      expect(await hasher.verify('pw', bad)).toBe(false);
    }
  });
});
