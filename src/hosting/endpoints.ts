import type { Kysely } from 'kysely';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { ArnContext } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import {
  jsonColumn,
  NameKeyedRepository,
  parseJsonColumn,
  type NameKeyedOptions,
} from '../store/index.js';
import type { ServerlessSpec } from './runtime/serverless.js';
import { assertTransition, type EndpointStatus } from './endpoint-status.js';

/** A production variant as deployed: current and desired weight/count, as DescribeEndpoint shows. */
export interface VariantState {
  readonly variantName: string;
  readonly modelName: string;
  readonly currentWeight: number;
  readonly desiredWeight: number;
  readonly currentInstanceCount: number;
  readonly desiredInstanceCount: number;
  readonly instanceType: string | undefined;
  /** The model's container image (DeployedImages.SpecifiedImage). */
  readonly image: string | undefined;
  /** A ShadowProductionVariant (gets a copy of the traffic; DescribeEndpoint lists it apart). */
  readonly shadow?: boolean;
  readonly serverless?: ServerlessSpec;
}

/** An UpdateEndpoint in flight (DescribeEndpoint's PendingDeploymentSummary). */
export interface PendingDeployment {
  readonly configName: string;
  readonly startedAtMs: number;
  readonly variants: readonly VariantState[];
  /** Where a blue/green update stands (absent while the new fleet is being built). */
  readonly phase?: string;
  /** The new fleet's share of the traffic, 0–100. */
  readonly newPercent?: number;
  /** ALL_AT_ONCE, CANARY, LINEAR or ROLLING. */
  readonly kind?: string;
}

/** A stored endpoint: its current config, status, failure reason and per-variant runtime weights and counts. */
export interface EndpointRecord {
  readonly name: string;
  readonly arn: string;
  readonly configName: string;
  readonly status: EndpointStatus;
  readonly failureReason: string | undefined;
  readonly variants: readonly VariantState[];
  readonly createdAtMs: number;
  readonly lastModifiedMs: number;
  /** The create request as received (DeploymentConfig, Tags…). */
  readonly request: Readonly<Record<string, unknown>>;
  readonly lastDeploymentConfig: Readonly<Record<string, unknown>> | undefined;
  readonly pending: PendingDeployment | undefined;
}

export type EndpointsTable = {
  endpoints: {
    name: string;
    name_lower: string;
    arn: string;
    config_name: string;
    status: string;
    failure_reason: string | null;
    variants: string;
    request: string;
    deployment: string | null;
    pending: string | null;
    created_at_ms: number;
    last_modified_ms: number;
  };
};

type Row = EndpointsTable['endpoints'];

const toRecord = (row: Row): EndpointRecord => ({
  name: row.name,
  arn: row.arn,
  configName: row.config_name,
  status: row.status as EndpointStatus,
  failureReason: row.failure_reason ?? undefined,
  variants: parseJsonColumn<VariantState[]>(row.variants) ?? [],
  createdAtMs: Number(row.created_at_ms),
  lastModifiedMs: Number(row.last_modified_ms),
  request: parseJsonColumn<Record<string, unknown>>(row.request) ?? {},
  lastDeploymentConfig: parseJsonColumn<Record<string, unknown>>(row.deployment) ?? undefined,
  pending: parseJsonColumn<PendingDeployment>(row.pending) ?? undefined,
});

export interface EndpointPatch {
  readonly status?: EndpointStatus;
  readonly failureReason?: string | null;
  readonly variants?: readonly VariantState[];
  readonly configName?: string;
  readonly lastDeploymentConfig?: Record<string, unknown> | null;
  readonly pending?: PendingDeployment | null;
}

const repositoryOptions: NameKeyedOptions<Row, EndpointRecord> = {
  table: 'endpoints',
  resourceType: 'endpoint',
  toRecord,
  alreadyExists: (_name, arn) =>
    new AppError(ErrorCodes.Validation, `Cannot create already existing endpoint "${arn}".`),
  // What boto3's waiters expect.
  notFound: (_name, arn) =>
    new AppError(ErrorCodes.Validation, `Could not find endpoint "${arn}".`),
};

/** Endpoints, keyed by case-insensitive name; status changes are compare-and-set. */
export class EndpointRepository extends NameKeyedRepository<Row, EndpointRecord> {
  constructor(
    db: Kysely<EndpointsTable>,
    private readonly clock: Clock,
    arn: ArnContext,
  ) {
    super(db, arn, repositoryOptions);
  }

  /** @throws ValidationException "Cannot create already existing endpoint …" */
  async create(input: {
    name: string;
    configName: string;
    variants: readonly VariantState[];
    request: Record<string, unknown>;
    deploymentConfig: Record<string, unknown> | undefined;
  }): Promise<EndpointRecord> {
    const now = this.clock.nowMs();
    return this.insertRow({
      name: input.name,
      name_lower: input.name.toLowerCase(),
      arn: this.arnOf(input.name),
      config_name: input.configName,
      status: 'Creating',
      failure_reason: null,
      variants: jsonColumn(input.variants),
      request: jsonColumn(input.request),
      deployment: input.deploymentConfig ? jsonColumn(input.deploymentConfig) : null,
      pending: null,
      created_at_ms: now,
      last_modified_ms: now,
    });
  }

  /**
   * Applies a patch; a status change is checked against the transition table and made with a
   * compare-and-set on the current status, so two racing writers cannot both win.
   * @throws ValidationException when the endpoint is gone or the transition is not allowed.
   */
  async update(name: string, patch: EndpointPatch, action = 'change'): Promise<EndpointRecord> {
    const current = await this.get(name);
    if (patch.status !== undefined && patch.status !== current.status) {
      assertTransition(current.arn, current.status, patch.status, action);
    }
    const set: Partial<Row> = {
      last_modified_ms: Math.max(this.clock.nowMs(), current.lastModifiedMs),
    };
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.failureReason !== undefined) set.failure_reason = patch.failureReason;
    if (patch.variants !== undefined) set.variants = jsonColumn(patch.variants);
    if (patch.configName !== undefined) set.config_name = patch.configName;
    if (patch.lastDeploymentConfig !== undefined) {
      set.deployment =
        patch.lastDeploymentConfig === null ? null : jsonColumn(patch.lastDeploymentConfig);
    }
    if (patch.pending !== undefined) {
      set.pending = patch.pending === null ? null : jsonColumn(patch.pending);
    }
    if (!(await this.updateRow(name, set, { status: current.status }))) {
      const now = await this.find(name);
      if (!now) throw this.notFound(name);
      throw new AppError(
        ErrorCodes.Conflict,
        `Endpoint "${current.arn}" changed status concurrently (now ${now.status}); retry the request.`,
      );
    }
    return this.get(name);
  }

  /** Deletes the endpoint if it exists (deleting twice is not an error here). */
  async delete(name: string): Promise<void> {
    await this.deleteRow(name);
  }

  /** Every endpoint, oldest first. */
  async all(): Promise<EndpointRecord[]> {
    return this.records((q) => q.orderBy('created_at_ms'));
  }
}
