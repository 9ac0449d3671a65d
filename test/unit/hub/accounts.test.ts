// Passwords and secrets at rest, and the one visibility rule every read uses.
import { describe, expect, it } from 'vitest';
import { checkPassword, checkSecret, hashPassword, hashSecret, newClientCredentials, newToken } from '../../../hub/secrets.js';
import { canSee } from '../../../hub/visibility.js';

describe('secrets', () => {
  it('hashes passwords with scrypt and a salt: the same password twice gives two hashes, both check', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct');
    expect(await checkPassword('correct horse', a)).toBe(true);
    expect(await checkPassword('correct horse', b)).toBe(true);
    expect(await checkPassword('wrong', a)).toBe(false);
    expect(await checkPassword('correct horse', 'garbage')).toBe(false);
  });

  it('draws tokens and client secrets at random and keeps only their hash', () => {
    const t = newToken();
    expect(t).toMatch(/^dlh_[A-Za-z0-9_-]{43}$/);
    expect(newToken()).not.toBe(t);
    const { clientId, clientSecret } = newClientCredentials();
    expect(clientId).toMatch(/^dlhc_[0-9a-f]{24}$/);
    expect(checkSecret(clientSecret, hashSecret(clientSecret))).toBe(true);
    expect(checkSecret(`${clientSecret}x`, hashSecret(clientSecret))).toBe(false);
    expect(hashSecret(t)).not.toContain(t.slice(4));
  });
});

describe('canSee', () => {
  const member = { user: 'bob', groups: new Set(['lab']) };
  const stranger = { user: 'carol', groups: new Set<string>() };
  it('public: everyone; private: the owner only; groups: the owner and members', () => {
    expect([canSee('public', 'alice', undefined), canSee('public', 'alice', stranger)]).toEqual([true, true]);
    expect([canSee('private', 'alice', { user: 'alice', groups: new Set() }), canSee('private', 'alice', member), canSee('private', 'alice', undefined)]).toEqual([true, false, false]);
    expect([canSee({ groups: ['lab'] }, 'alice', member), canSee({ groups: ['lab'] }, 'alice', stranger), canSee({ groups: ['lab'] }, 'alice', undefined), canSee({ groups: [] }, 'alice', { user: 'alice', groups: new Set() })]).toEqual([true, false, false, true]);
  });
});
