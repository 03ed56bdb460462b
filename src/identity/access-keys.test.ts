import { describe, expect, it } from 'vitest';
import { SecretBox } from './access-keys.js';

describe('SecretBox (access key secrets at rest)', () => {
  const box = new SecretBox('root-secret-A');
  it('opens what it sealed, and never stores the plain secret', () => {
    const sealed = box.seal('AKIAEXAMPLE', 'the-secret');
    expect(sealed).not.toContain('the-secret');
    expect(sealed.startsWith('v1:')).toBe(true);
    expect(box.open('AKIAEXAMPLE', sealed)).toBe('the-secret');
    expect(box.seal('AKIAEXAMPLE', 'the-secret')).not.toBe(sealed);
  });
  it('refuses a secret moved to another key id, sealed under another root secret, or altered', () => {
    const sealed = box.seal('AKIAEXAMPLE', 'the-secret');
    expect(box.open('AKIAOTHER', sealed)).toBeUndefined();
    expect(new SecretBox('root-secret-B').open('AKIAEXAMPLE', sealed)).toBeUndefined();
    const parts = sealed.split(':');
    parts[3] = Buffer.from('tampered').toString('base64');
    expect(box.open('AKIAEXAMPLE', parts.join(':'))).toBeUndefined();
    expect(box.open('AKIAEXAMPLE', 'garbage')).toBeUndefined();
  });
});
