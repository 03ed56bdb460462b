import type { Kysely } from 'kysely';
import type { ArnContext } from '../shared/arn.js';
import { parseSagemakerArn } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { Db, TagRepository } from '../store/index.js';
import type { ObjectStore } from '../objects/index.js';
import { parseS3Uri } from '../shared/s3-uri.js';
import { ModelRepository, type ModelContainer, type ModelsTable } from './models.js';
import {
  EndpointConfigRepository,
  type EndpointConfigsTable,
  type VariantSpec,
} from './endpoint-configs.js';

export interface HostingDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly arn: ArnContext;
  readonly objects: ObjectStore;
  readonly tags: TagRepository;
}

/** The hosting context: models, endpoint configs and (later) endpoints that serve. */
export class Hosting {
  readonly models: ModelRepository;
  readonly endpointConfigs: EndpointConfigRepository;

  constructor(private readonly deps: HostingDeps) {
    const db = deps.db.withTables<ModelsTable & EndpointConfigsTable>();
    this.models = new ModelRepository(db as unknown as Kysely<ModelsTable>, deps.clock, deps.arn);
    this.endpointConfigs = new EndpointConfigRepository(
      db as unknown as Kysely<EndpointConfigsTable>,
      deps.clock,
      deps.arn,
    );
  }

  async createModel(input: {
    name: string;
    containers: readonly ModelContainer[];
    executionRoleArn: string | undefined;
    request: Record<string, unknown>;
    tags: readonly { key: string; value: string }[];
  }) {
    if (input.containers.length === 0) {
      throw new AppError(
        ErrorCodes.Validation,
        'Either PrimaryContainer or Containers must be specified',
      );
    }
    for (const c of input.containers) {
      if (c.modelDataUrl !== undefined) parseS3Uri(c.modelDataUrl, 'ModelDataUrl');
    }
    const record = await this.models.create(input);
    await this.deps.tags.add(record.arn, input.tags);
    return record;
  }

  async deleteModel(name: string): Promise<void> {
    const arn = this.models.arnOf(name);
    await this.models.delete(name);
    await this.deps.tags.removeAll(arn);
  }

  async createEndpointConfig(input: {
    name: string;
    variants: readonly VariantSpec[];
    request: Record<string, unknown>;
    tags: readonly { key: string; value: string }[];
  }) {
    const names = new Set<string>();
    for (const v of input.variants) {
      if (names.has(v.variantName.toLowerCase())) {
        throw new AppError(
          ErrorCodes.Validation,
          `The variant name '${v.variantName}' is used more than once; variant names must be unique`,
        );
      }
      names.add(v.variantName.toLowerCase());
      if (!(await this.models.find(v.modelName))) {
        throw new AppError(
          ErrorCodes.Validation,
          `Could not find model "${this.models.arnOf(v.modelName)}".`,
        );
      }
    }
    const record = await this.endpointConfigs.create(input);
    await this.deps.tags.add(record.arn, input.tags);
    return record;
  }

  async deleteEndpointConfig(name: string): Promise<void> {
    const arn = this.endpointConfigs.arnOf(name);
    await this.endpointConfigs.delete(name);
    await this.deps.tags.removeAll(arn);
  }

  /** Whether an ARN names a hosting resource that exists (for tag operations). */
  async arnExists(arn: string): Promise<boolean | undefined> {
    const parsed = parseSagemakerArn(arn);
    if (!parsed) return undefined;
    if (parsed.type === 'model') return (await this.models.find(parsed.name)) !== undefined;
    if (parsed.type === 'endpoint-config') {
      return (await this.endpointConfigs.find(parsed.name)) !== undefined;
    }
    return undefined;
  }

  async close(): Promise<void> {}
}
