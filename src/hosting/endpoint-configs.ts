import type { Kysely } from 'kysely';
import type { ServerlessSpec } from './runtime/serverless.js';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { ArnContext } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import {
  jsonColumn,
  NameKeyedRepository,
  parseJsonColumn,
  type NameKeyedOptions,
} from '../store/index.js';

/** One production or shadow variant of an endpoint config: model, instances, weight, serverless or multi-model options. */
export interface VariantSpec {
  readonly variantName: string;
  readonly modelName: string;
  readonly initialInstanceCount: number;
  /** Default 1.0, as SageMaker's. */
  readonly initialVariantWeight: number;
  readonly instanceType: string | undefined;
  /** One of ShadowProductionVariants. */
  readonly shadow?: boolean;
  readonly serverless?: ServerlessSpec;
}

/** A stored endpoint config (immutable once created): its variants, data capture and async settings. */
export interface EndpointConfigRecord {
  readonly name: string;
  readonly arn: string;
  readonly variants: readonly VariantSpec[];
  readonly createdAtMs: number;
  readonly request: Readonly<Record<string, unknown>>;
}

export type EndpointConfigsTable = {
  endpoint_configs: {
    name: string;
    name_lower: string;
    arn: string;
    variants: string;
    request: string;
    created_at_ms: number;
    last_modified_ms: number;
    status: string;
  };
};

type Row = EndpointConfigsTable['endpoint_configs'];

const toRecord = (row: Row): EndpointConfigRecord => ({
  name: row.name,
  arn: row.arn,
  variants: parseJsonColumn<VariantSpec[]>(row.variants) ?? [],
  createdAtMs: Number(row.created_at_ms),
  request: parseJsonColumn<Record<string, unknown>>(row.request) ?? {},
});

const repositoryOptions: NameKeyedOptions<Row, EndpointConfigRecord> = {
  table: 'endpoint_configs',
  resourceType: 'endpoint-config',
  toRecord,
  alreadyExists: (_name, arn) =>
    new AppError(
      ErrorCodes.Validation,
      `Cannot create already existing endpoint configuration "${arn}".`,
    ),
  notFound: (_name, arn) =>
    new AppError(ErrorCodes.Validation, `Could not find endpoint configuration "${arn}".`),
};

/** Endpoint configurations, keyed by case-insensitive name. */
export class EndpointConfigRepository extends NameKeyedRepository<Row, EndpointConfigRecord> {
  constructor(
    db: Kysely<EndpointConfigsTable>,
    private readonly clock: Clock,
    arn: ArnContext,
  ) {
    super(db, arn, repositoryOptions);
  }

  /** @throws ValidationException "Cannot create already existing endpoint configuration …" */
  async create(input: {
    name: string;
    variants: readonly VariantSpec[];
    request: Record<string, unknown>;
  }): Promise<EndpointConfigRecord> {
    const now = this.clock.nowMs();
    return this.insertRow({
      name: input.name,
      name_lower: input.name.toLowerCase(),
      arn: this.arnOf(input.name),
      variants: jsonColumn(input.variants),
      request: jsonColumn(input.request),
      created_at_ms: now,
      last_modified_ms: now,
      status: 'Created',
    });
  }

  /** @throws ValidationException "Could not find endpoint configuration …" */
  async delete(name: string): Promise<void> {
    if (!(await this.deleteRow(name))) throw this.notFound(name);
  }
}
