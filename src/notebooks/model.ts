import { defineStateMachine } from '../shared/state-machine.js';

/** SageMaker's notebook instance statuses (`NotebookInstanceStatus`). */
export const NotebookStatus = {
  Pending: 'Pending',
  InService: 'InService',
  Stopping: 'Stopping',
  Stopped: 'Stopped',
  Failed: 'Failed',
  Deleting: 'Deleting',
  Updating: 'Updating',
} as const;
export type NotebookStatus = (typeof NotebookStatus)[keyof typeof NotebookStatus];

/**
 * The moves SageMaker allows. Pending → Stopped and InService → Stopped are Apiary's own: an
 * instance whose JupyterLab is gone after Apiary restarts is marked Stopped (its volume is kept).
 */
export const NOTEBOOK_TRANSITIONS = defineStateMachine(
  {
    Pending: ['InService', 'Failed', 'Stopped'],
    InService: ['Stopping', 'Stopped', 'Failed'],
    Stopping: ['Stopped'],
    Stopped: ['Pending', 'Deleting', 'Updating'],
    Failed: ['Pending', 'Deleting', 'Updating'],
    Updating: ['Stopped'],
    Deleting: [],
  } as const,
  { name: 'notebook instance' },
);

/** A notebook instance as stored. */
export interface NotebookInstanceRecord {
  readonly name: string;
  readonly arn: string;
  readonly status: NotebookStatus;
  readonly failureReason: string | undefined;
  readonly instanceType: string;
  readonly roleArn: string;
  readonly lifecycleConfigName: string | undefined;
  readonly volumeSizeInGb: number;
  readonly directInternetAccess: string;
  readonly rootAccess: string;
  readonly platformIdentifier: string;
  /** The folder under `<data-dir>/notebooks/` (short: the JupyterLab socket lives in it). */
  readonly dirId: string;
  /** Whether OnCreate already ran (it runs once, before the first start). */
  readonly created: boolean;
  /** The running JupyterLab: pid + start time name one process for good. */
  readonly process:
    { readonly pid: number; readonly startTime: string; readonly token: string } | undefined;
  readonly createdAtMs: number;
  readonly lastModifiedMs: number;
}

/** A lifecycle configuration: base64 shell scripts run before the first start and every start. */
export interface LifecycleConfigRecord {
  readonly name: string;
  readonly arn: string;
  /** Base64 contents, as given. */
  readonly onCreate: readonly string[];
  readonly onStart: readonly string[];
  readonly createdAtMs: number;
  readonly lastModifiedMs: number;
}

/** What CreateNotebookInstance asks for, in domain terms. */
export interface CreateNotebookInput {
  readonly name: string;
  readonly instanceType: string;
  readonly roleArn: string;
  readonly lifecycleConfigName?: string;
  readonly volumeSizeInGb?: number;
  readonly directInternetAccess?: string;
  readonly rootAccess?: string;
  readonly platformIdentifier?: string;
  readonly tags: readonly { key: string; value: string }[];
}

/** What UpdateNotebookInstance may change (only while Stopped). */
export interface UpdateNotebookInput {
  readonly name: string;
  readonly instanceType?: string;
  readonly roleArn?: string;
  readonly lifecycleConfigName?: string;
  readonly disassociateLifecycleConfig?: boolean;
  readonly volumeSizeInGb?: number;
  readonly rootAccess?: string;
}
