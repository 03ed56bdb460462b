import { describe, expect, it } from 'vitest';
import { loadSettings, DEFAULTS } from './settings.js';

describe('settings', () => {
  it('uses the documented defaults with an empty environment', () => {
    const s = loadSettings({});
    expect(s.port).toBe(8800);
    expect(s.host).toBe('127.0.0.1');
    expect(s.region).toBe('us-east-1');
    expect(s.accountId).toBe('000000000000');
    expect(s.maxRunningTrainingJobs).toBe(DEFAULTS.maxRunningTrainingJobs);
    expect(Object.isFrozen(s)).toBe(true);
  });

  it('fails naming the variable when a value is bad', () => {
    expect(() => loadSettings({ APIARY_PORT: 'eighty' })).toThrow(/APIARY_PORT='eighty'/);
    expect(() => loadSettings({ APIARY_ACCOUNT_ID: '12' })).toThrow(/APIARY_ACCOUNT_ID/);
    expect(() => loadSettings({ APIARY_SANDBOX: 'docker' })).toThrow(/APIARY_SANDBOX='docker': expected one of auto, bwrap, none/);
    expect(() => loadSettings({ APIARY_ROOT_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE' })).toThrow(/must be set together/);
  });
});
