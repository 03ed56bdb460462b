import { AppError, ErrorCodes } from '../shared/errors.js';
import { defineStateMachine, type TransitionTable } from '../shared/state-machine.js';

/** SageMaker's EndpointStatus values that Apiary uses. */
export const EndpointStatus = {
  Creating: 'Creating',
  InService: 'InService',
  Updating: 'Updating',
  RollingBack: 'RollingBack',
  UpdateRollbackFailed: 'UpdateRollbackFailed',
  Deleting: 'Deleting',
  Failed: 'Failed',
} as const;

export type EndpointStatus = (typeof EndpointStatus)[keyof typeof EndpointStatus];

/**
 * The allowed transitions, one row per status. `Creating → InService | Failed`; an update moves an
 * InService endpoint to `Updating` and back to `InService` (a failed update rolls back to the old
 * fleet, keeping the endpoint InService with a FailureReason, as SageMaker does); every status but
 * `Deleting` may be deleted; `Failed` can only be deleted. A blue/green update whose alarm fires (or
 * that times out) goes `Updating → RollingBack → InService` with the reason in FailureReason;
 * `UpdateRollbackFailed` when the old fleet could not be brought back (it may be updated again).
 */
export const endpointStates = defineStateMachine(
  {
    Creating: ['InService', 'Failed', 'Deleting'],
    InService: ['Updating', 'Failed', 'Deleting'],
    Updating: ['InService', 'RollingBack', 'Failed', 'Deleting'],
    RollingBack: ['InService', 'UpdateRollbackFailed', 'Deleting'],
    UpdateRollbackFailed: ['Updating', 'Deleting'],
    Failed: ['Deleting'],
    Deleting: [],
  } as const satisfies TransitionTable<EndpointStatus>,
  { name: 'endpoint' },
);

/** The table of {@link endpointStates}. */
export const ENDPOINT_TRANSITIONS: Readonly<Record<EndpointStatus, readonly EndpointStatus[]>> =
  endpointStates.table;

export const canTransition = (from: EndpointStatus, to: EndpointStatus): boolean =>
  endpointStates.canTransition(from, to);

/** @throws ValidationException naming the endpoint, its status and what is allowed. */
export function assertTransition(
  arn: string,
  from: EndpointStatus,
  to: EndpointStatus,
  action: string,
): void {
  if (canTransition(from, to)) return;
  if (from === 'Failed') {
    throw new AppError(
      ErrorCodes.Validation,
      `Cannot ${action} endpoint "${arn}" because it is in status Failed; a Failed endpoint can only be deleted.`,
    );
  }
  if (to === 'Updating') {
    throw new AppError(
      ErrorCodes.Validation,
      `Cannot update in-progress endpoint "${arn}" (status ${from}); wait until it is InService.`,
    );
  }
  throw new AppError(
    ErrorCodes.Validation,
    `Cannot ${action} endpoint "${arn}" in status ${from}.`,
  );
}
