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

/** A container of a model, in domain terms (the wire's ContainerDefinition). */
export interface ModelContainer {
  readonly image: string | undefined;
  readonly modelDataUrl: string | undefined;
  readonly environment: Readonly<Record<string, string>>;
  readonly mode: 'SingleModel' | 'MultiModel';
  readonly hostname: string | undefined;
}

/** A stored SageMaker model: its containers, execution role and tags. */
export interface ModelRecord {
  readonly name: string;
  readonly arn: string;
  readonly containers: readonly ModelContainer[];
  readonly executionRoleArn: string | undefined;
  readonly createdAtMs: number;
  /** The create request as received, echoed by Describe. */
  readonly request: Readonly<Record<string, unknown>>;
}

export type ModelsTable = {
  models: {
    name: string;
    name_lower: string;
    arn: string;
    containers: string;
    execution_role_arn: string | null;
    request: string;
    created_at_ms: number;
    last_modified_ms: number;
    status: string;
  };
};

type Row = ModelsTable['models'];

const toRecord = (row: Row): ModelRecord => ({
  name: row.name,
  arn: row.arn,
  containers: parseJsonColumn<ModelContainer[]>(row.containers) ?? [],
  executionRoleArn: row.execution_role_arn ?? undefined,
  createdAtMs: Number(row.created_at_ms),
  request: parseJsonColumn<Record<string, unknown>>(row.request) ?? {},
});

const repositoryOptions: NameKeyedOptions<Row, ModelRecord> = {
  table: 'models',
  resourceType: 'model',
  toRecord,
  alreadyExists: (_name, arn) =>
    new AppError(ErrorCodes.Validation, `Cannot create already existing model "${arn}".`),
  notFound: (_name, arn) => new AppError(ErrorCodes.Validation, `Could not find model "${arn}".`),
};

/** Models, keyed by case-insensitive name. */
export class ModelRepository extends NameKeyedRepository<Row, ModelRecord> {
  constructor(
    db: Kysely<ModelsTable>,
    private readonly clock: Clock,
    arn: ArnContext,
  ) {
    super(db, arn, repositoryOptions);
  }

  /** @throws ValidationException "Cannot create already existing model …" */
  async create(input: {
    name: string;
    containers: readonly ModelContainer[];
    executionRoleArn: string | undefined;
    request: Record<string, unknown>;
  }): Promise<ModelRecord> {
    const now = this.clock.nowMs();
    return this.insertRow({
      name: input.name,
      name_lower: input.name.toLowerCase(),
      arn: this.arnOf(input.name),
      containers: jsonColumn(input.containers),
      execution_role_arn: input.executionRoleArn ?? null,
      request: jsonColumn(input.request),
      created_at_ms: now,
      last_modified_ms: now,
      status: 'Created',
    });
  }

  /** @throws ValidationException "Could not find model …" */
  async delete(name: string): Promise<void> {
    if (!(await this.deleteRow(name))) throw this.notFound(name);
  }
}
