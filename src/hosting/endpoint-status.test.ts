import { describe, expect, it } from 'vitest';
import {
  assertTransition,
  canTransition,
  ENDPOINT_TRANSITIONS,
  EndpointStatus,
} from './endpoint-status.js';

const all = Object.values(EndpointStatus);
const arn = 'arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep';

describe('the endpoint status machine', () => {
  it('creates into InService or Failed', () => {
    expect(canTransition('Creating', 'InService')).toBe(true);
    expect(canTransition('Creating', 'Failed')).toBe(true);
    expect(canTransition('Creating', 'Updating')).toBe(false);
  });

  it('lets a Failed endpoint only be deleted', () => {
    for (const to of all) expect(canTransition('Failed', to)).toBe(to === 'Deleting');
    expect(() => assertTransition(arn, 'Failed', 'Updating', 'update')).toThrow(
      `Cannot update endpoint "${arn}" because it is in status Failed; a Failed endpoint can only be deleted.`,
    );
  });

  it('updates only from InService and returns to InService', () => {
    for (const from of all)
      expect(canTransition(from, 'Updating')).toBe(
        from === 'InService' || from === 'UpdateRollbackFailed',
      );
    expect(canTransition('Updating', 'InService')).toBe(true);
    expect(() => assertTransition(arn, 'Creating', 'Updating', 'update')).toThrow(
      `Cannot update in-progress endpoint "${arn}" (status Creating); wait until it is InService.`,
    );
  });

  it('can delete from every status but Deleting, and Deleting is terminal', () => {
    for (const from of all) expect(canTransition(from, 'Deleting')).toBe(from !== 'Deleting');
    expect(ENDPOINT_TRANSITIONS.Deleting).toEqual([]);
  });

  it('rolls a blue/green update back through RollingBack, to InService or UpdateRollbackFailed', () => {
    expect(canTransition('Updating', 'RollingBack')).toBe(true);
    expect(canTransition('RollingBack', 'InService')).toBe(true);
    expect(canTransition('RollingBack', 'UpdateRollbackFailed')).toBe(true);
    expect(canTransition('InService', 'RollingBack')).toBe(false);
    expect(canTransition('UpdateRollbackFailed', 'InService')).toBe(false);
  });

  it('has no self-transitions', () => {
    for (const s of all) expect(canTransition(s, s)).toBe(false);
  });
});
