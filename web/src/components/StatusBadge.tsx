import StatusIndicator, {
  type StatusIndicatorProps,
} from '@cloudscape-design/components/status-indicator';

const TYPES: Record<string, StatusIndicatorProps.Type> = {
  InService: 'success',
  Completed: 'success',
  Succeeded: 'success',
  Creating: 'in-progress',
  Updating: 'in-progress',
  SystemUpdating: 'in-progress',
  RollingBack: 'in-progress',
  UpdateRollbackFailed: 'error',
  InProgress: 'in-progress',
  Initializing: 'in-progress',
  Pending: 'pending',
  Starting: 'in-progress',
  Downloading: 'in-progress',
  Training: 'in-progress',
  Uploading: 'in-progress',
  Deleting: 'in-progress',
  Stopping: 'in-progress',
  Stopped: 'stopped',
  MaxRuntimeExceeded: 'stopped',
  Failed: 'error',
  OutOfService: 'warning',
};

/** A SageMaker status as Cloudscape shows states: spinner while moving, check when done. */
export default function StatusBadge({ status }: { status: unknown }) {
  if (typeof status !== 'string' || status === '') return <>-</>;
  return <StatusIndicator type={TYPES[status] ?? 'info'}>{status}</StatusIndicator>;
}
