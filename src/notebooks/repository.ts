import type { Kysely } from 'kysely';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { ArnContext } from '../shared/arn.js';
import { NameKeyedRepository, type NameKeyedRow } from '../store/index.js';
import type { LifecycleConfigRecord, NotebookInstanceRecord, NotebookStatus } from './model.js';

/** A `notebook_instances` row. */
export interface NotebookInstanceRow extends NameKeyedRow {
  status: string;
  failure_reason: string | null;
  instance_type: string;
  role_arn: string;
  lifecycle_config_name: string | null;
  volume_size_gb: number;
  direct_internet_access: string;
  root_access: string;
  platform_identifier: string;
  dir_id: string;
  created: number;
  process: string | null;
}

const toInstance = (r: NotebookInstanceRow): NotebookInstanceRecord => ({
  name: r.name,
  arn: r.arn,
  status: r.status as NotebookStatus,
  failureReason: r.failure_reason ?? undefined,
  instanceType: r.instance_type,
  roleArn: r.role_arn,
  lifecycleConfigName: r.lifecycle_config_name ?? undefined,
  volumeSizeInGb: Number(r.volume_size_gb),
  directInternetAccess: r.direct_internet_access,
  rootAccess: r.root_access,
  platformIdentifier: r.platform_identifier,
  dirId: r.dir_id,
  created: Number(r.created) === 1,
  process: r.process ? (JSON.parse(r.process) as NotebookInstanceRecord['process']) : undefined,
  createdAtMs: Number(r.created_at_ms),
  lastModifiedMs: Number(r.last_modified_ms),
});

/** Notebook instances, keyed by name (SageMaker's "RecordNotFound" wording for unknown ones). */
export class NotebookInstanceRepository extends NameKeyedRepository<
  NotebookInstanceRow,
  NotebookInstanceRecord
> {
  constructor(db: Kysely<any>, arn: ArnContext) {
    super(db, arn, {
      table: 'notebook_instances',
      resourceType: 'notebook-instance',
      toRecord: toInstance,
      alreadyExists: (_name, arn) =>
        new AppError(ErrorCodes.Validation, `Cannot create a duplicate Notebook Instance (${arn})`),
      notFound: () => new AppError(ErrorCodes.Validation, 'RecordNotFound'),
    });
  }

  /** Every instance whose status is one of `statuses` (start-up reconciliation). */
  inStatus(statuses: readonly string[]): Promise<NotebookInstanceRecord[]> {
    return this.records((q) => q.where('status', 'in', [...statuses]));
  }
}

/** A `notebook_lifecycle_configs` row. */
export interface LifecycleConfigRow extends NameKeyedRow {
  on_create: string;
  on_start: string;
}

const toConfig = (r: LifecycleConfigRow): LifecycleConfigRecord => ({
  name: r.name,
  arn: r.arn,
  onCreate: JSON.parse(r.on_create) as string[],
  onStart: JSON.parse(r.on_start) as string[],
  createdAtMs: Number(r.created_at_ms),
  lastModifiedMs: Number(r.last_modified_ms),
});

/** Lifecycle configurations, keyed by name. */
export class LifecycleConfigRepository extends NameKeyedRepository<
  LifecycleConfigRow,
  LifecycleConfigRecord
> {
  constructor(db: Kysely<any>, arn: ArnContext) {
    super(db, arn, {
      table: 'notebook_lifecycle_configs',
      resourceType: 'notebook-instance-lifecycle-config',
      toRecord: toConfig,
      alreadyExists: (_name, arn) =>
        new AppError(
          ErrorCodes.Validation,
          `Unable to create Notebook Instance Lifecycle Config ${arn}. (Details: Notebook Instance Lifecycle Config already exists)`,
        ),
      notFound: (name) =>
        new AppError(
          ErrorCodes.Validation,
          `Unable to describe Notebook Instance Lifecycle Config '${name}'. (Details: Notebook Instance Lifecycle Config does not exist)`,
        ),
    });
  }

  /** The name of an instance that uses this config, if any (delete refuses then). */
  async usedBy(name: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('notebook_instances')
      .select('name')
      .where('lifecycle_config_name', '=', name)
      .executeTakeFirst();
    return (row as { name: string } | undefined)?.name;
  }
}
