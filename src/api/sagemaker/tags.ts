import { AppError, ErrorCodes } from '../../shared/errors.js';
import { parseSagemakerArn } from '../../shared/arn.js';
import type { TagRepository } from '../../store/index.js';
import type { OperationTable } from './protocol.js';

interface WireTag {
  Key: string;
  Value?: string;
}

export const tagsFromWire = (tags: readonly WireTag[] | undefined): { key: string; value: string }[] =>
  (tags ?? []).map((t) => ({ key: t.Key, value: t.Value ?? '' }));

export const tagsToWire = (tags: readonly { key: string; value: string }[]): WireTag[] =>
  tags.map((t) => ({ Key: t.key, Value: t.value }));

/**
 * AddTags / ListTags / DeleteTags for every resource. `arnExists` answers true/false for ARNs a
 * context owns, undefined for ARNs nobody claims (accepted as long as they are SageMaker ARNs).
 */
export function tagOperations(deps: {
  tags: TagRepository;
  arnExists: (arn: string) => Promise<boolean | undefined>;
}): OperationTable {
  const check = async (arn: string): Promise<void> => {
    if (!parseSagemakerArn(arn)) {
      throw new AppError(ErrorCodes.Validation, `'${arn}' is not a SageMaker resource ARN`);
    }
    if ((await deps.arnExists(arn)) === false) {
      throw new AppError(ErrorCodes.Validation, `Resource ${arn} does not exist`);
    }
  };
  return {
    async AddTags(input: { ResourceArn: string; Tags: WireTag[] }) {
      await check(input.ResourceArn);
      await deps.tags.add(input.ResourceArn, tagsFromWire(input.Tags));
      return { Tags: tagsToWire(await deps.tags.list(input.ResourceArn)) };
    },
    async ListTags(input: { ResourceArn: string; NextToken?: string; MaxResults?: number }) {
      await check(input.ResourceArn);
      return { Tags: tagsToWire(await deps.tags.list(input.ResourceArn)) };
    },
    async DeleteTags(input: { ResourceArn: string; TagKeys: string[] }) {
      await check(input.ResourceArn);
      await deps.tags.remove(input.ResourceArn, input.TagKeys);
      return {};
    },
  };
}
