import { AppError, ErrorCodes } from '../shared/errors.js';
import type { Clock } from '../shared/clock.js';
import type { TagRepository } from '../store/index.js';
import { validateScripts } from './lifecycle-scripts.js';
import type { LifecycleConfigRecord } from './model.js';
import type { LifecycleConfigRepository } from './repository.js';

/** Create, update and delete notebook instance lifecycle configurations, with SageMaker's rules. */
export class LifecycleConfigs {
  constructor(
    private readonly configs: LifecycleConfigRepository,
    private readonly tags: TagRepository,
    private readonly clock: Clock,
  ) {}

  async create(input: {
    name: string;
    onCreate: string[];
    onStart: string[];
    tags: readonly { key: string; value: string }[];
  }): Promise<LifecycleConfigRecord> {
    validateScripts([...input.onCreate, ...input.onStart]);
    const now = this.clock.nowMs();
    const rec = await this.configs.insertRow({
      name: input.name,
      name_lower: input.name.toLowerCase(),
      arn: this.configs.arnOf(input.name),
      on_create: JSON.stringify(input.onCreate),
      on_start: JSON.stringify(input.onStart),
      created_at_ms: now,
      last_modified_ms: now,
    });
    await this.tags.add(rec.arn, input.tags);
    return rec;
  }

  async update(input: { name: string; onCreate?: string[]; onStart?: string[] }): Promise<void> {
    const rec = await this.configs.get(input.name);
    validateScripts([...(input.onCreate ?? []), ...(input.onStart ?? [])]);
    await this.configs.updateRow(rec.name, {
      on_create: JSON.stringify(input.onCreate ?? rec.onCreate),
      on_start: JSON.stringify(input.onStart ?? rec.onStart),
      last_modified_ms: this.clock.nowMs(),
    });
  }

  /** @throws ValidationException while an instance uses it. */
  async delete(name: string): Promise<void> {
    const rec = await this.configs.get(name);
    const user = await this.configs.usedBy(rec.name);
    if (user !== undefined) {
      throw new AppError(
        ErrorCodes.Validation,
        `Unable to delete Notebook Instance Lifecycle Config ${rec.arn}: it is used by the Notebook Instance ${user}`,
      );
    }
    await this.configs.deleteRow(rec.name);
    await this.tags.removeAll(rec.arn);
  }
}
