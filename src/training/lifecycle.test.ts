import { describe, expect, it } from 'vitest';
import {
  appendTransition,
  assertTransition,
  canTransition,
  isTerminal,
  primaryStatusOf,
  SecondaryStatuses,
  TRANSITIONS,
  type SecondaryStatus,
} from './lifecycle.js';

const all = Object.values(SecondaryStatuses) as SecondaryStatus[];

describe('the training job state machine', () => {
  it('allows exactly the SageMaker paths: happy, failure, stop, max runtime, retry', () => {
    const allowed = all.flatMap((from) => TRANSITIONS[from].map((to) => `${from}->${to}`)).sort();
    expect(allowed).toEqual(
      [
        'Starting->Downloading',
        'Starting->Stopping',
        'Starting->Failed',
        'Downloading->Training',
        'Downloading->Stopping',
        'Downloading->Failed',
        'Downloading->Starting',
        'Training->Uploading',
        'Training->Stopping',
        'Training->Failed',
        'Training->Starting',
        'Uploading->Completed',
        'Uploading->Stopping',
        'Uploading->Failed',
        'Stopping->Stopped',
        'Stopping->MaxRuntimeExceeded',
        'Stopping->Failed',
      ].sort(),
    );
  });

  it('has no way out of a terminal state, and every non-terminal state can fail or stop', () => {
    for (const s of all.filter((t) => isTerminal(t))) expect(TRANSITIONS[s]).toEqual([]);
    for (const s of all.filter((t) => !isTerminal(t))) {
      expect(TRANSITIONS[s]).toContain('Failed');
      expect(s === 'Stopping' || canTransition(s, 'Stopping')).toBe(true);
    }
  });

  it('derives the primary status from the secondary one', () => {
    expect(all.map((s) => [s, primaryStatusOf(s)])).toEqual([
      ['Starting', 'InProgress'],
      ['Downloading', 'InProgress'],
      ['Training', 'InProgress'],
      ['Uploading', 'InProgress'],
      ['Stopping', 'Stopping'],
      ['Stopped', 'Stopped'],
      ['MaxRuntimeExceeded', 'Stopped'],
      ['Completed', 'Completed'],
      ['Failed', 'Failed'],
    ]);
  });

  it('refuses an illegal transition as an internal error', () => {
    expect(() => assertTransition('Completed', 'Training')).toThrow(
      'illegal training job transition Completed -> Training',
    );
    expect(() => assertTransition('Starting', 'Uploading')).toThrow(
      'illegal training job transition Starting -> Uploading',
    );
    expect(() => assertTransition('Training', 'Uploading')).not.toThrow();
  });

  it('closes the previous transition, updates a message in place and stamps terminal ones', () => {
    let t = appendTransition([], 'Starting', 1000, 'Waiting for a training slot: 1 job(s) ahead');
    t = appendTransition(t, 'Starting', 1500, 'Preparing the instances for training');
    expect(t).toEqual([
      { status: 'Starting', startMs: 1000, message: 'Preparing the instances for training' },
    ]);
    t = appendTransition(t, 'Downloading', 2000, 'Downloading input data');
    t = appendTransition(t, 'Failed', 3000, 'Training job failed');
    expect(t).toEqual([
      {
        status: 'Starting',
        startMs: 1000,
        endMs: 2000,
        message: 'Preparing the instances for training',
      },
      { status: 'Downloading', startMs: 2000, endMs: 3000, message: 'Downloading input data' },
      { status: 'Failed', startMs: 3000, endMs: 3000, message: 'Training job failed' },
    ]);
  });
});
