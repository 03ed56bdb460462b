import type { TagRepository } from '../store/index.js';
import { AppError, ErrorCodes } from '../shared/errors.js';
import { parseS3Uri } from '../shared/s3-uri.js';
import type { EndpointConfigRepository, VariantSpec } from './endpoint-configs.js';
import { validateEndpointConfigExtras } from './endpoint-config-rules.js';
import type { ModelContainer, ModelRepository } from './models.js';

/**
 * CreateModel, CreateEndpointConfig and their deletes, with SageMaker's checks: a model needs a
 * container and S3 model data, an endpoint config unique variant names and existing models.
 */
export class ModelRegistry {
  constructor(
    private readonly models: ModelRepository,
    private readonly endpointConfigs: EndpointConfigRepository,
    private readonly tags: TagRepository,
  ) {}

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
    await this.tags.add(record.arn, input.tags);
    return record;
  }

  async deleteModel(name: string): Promise<void> {
    const arn = this.models.arnOf(name);
    await this.models.delete(name);
    await this.tags.removeAll(arn);
  }

  async createEndpointConfig(input: {
    name: string;
    variants: readonly VariantSpec[];
    dataCapture?: Record<string, unknown>;
    request: Record<string, unknown>;
    tags: readonly { key: string; value: string }[];
  }) {
    validateEndpointConfigExtras(input.variants, input.dataCapture);
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
    await this.tags.add(record.arn, input.tags);
    return record;
  }

  async deleteEndpointConfig(name: string): Promise<void> {
    const arn = this.endpointConfigs.arnOf(name);
    await this.endpointConfigs.delete(name);
    await this.tags.removeAll(arn);
  }
}
