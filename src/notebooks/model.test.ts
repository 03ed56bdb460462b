import { describe, expect, it } from 'vitest';
import { NOTEBOOK_TRANSITIONS, NotebookStatus } from './model.js';

describe('the notebook instance state machine', () => {
  it('has every SageMaker status, and Deleting is the only end', () => {
    expect([...NOTEBOOK_TRANSITIONS.states].sort()).toEqual(Object.values(NotebookStatus).sort());
    expect(NOTEBOOK_TRANSITIONS.terminalStates).toEqual(['Deleting']);
  });

  it('starts only Stopped or Failed instances and deletes only those', () => {
    expect(NOTEBOOK_TRANSITIONS.sources('Pending')).toEqual(['Stopped', 'Failed']);
    expect(NOTEBOOK_TRANSITIONS.sources('Deleting')).toEqual(['Stopped', 'Failed']);
    expect(NOTEBOOK_TRANSITIONS.sources('Stopping')).toEqual(['InService']);
    expect(NOTEBOOK_TRANSITIONS.canTransition('InService', 'Deleting')).toBe(false);
    expect(() => NOTEBOOK_TRANSITIONS.assertTransition('InService', 'Pending')).toThrow(
      'illegal notebook instance transition InService -> Pending: InService may only go to Stopping, Stopped, Failed',
    );
  });

  it('lets a restart mark a lost instance Stopped', () => {
    expect(NOTEBOOK_TRANSITIONS.canTransition('InService', 'Stopped')).toBe(true);
    expect(NOTEBOOK_TRANSITIONS.canTransition('Pending', 'Stopped')).toBe(true);
  });
});
