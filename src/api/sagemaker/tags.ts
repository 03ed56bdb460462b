import { AppError, ErrorCodes } from '../../shared/errors.js';
import {
  parseSagemakerArn,
  sagemakerArn,
  type ArnContext,
  type SageMakerResourceType,
} from '../../shared/arn.js';
import type { TagRepository } from '../../store/index.js';
import type { OperationTable } from './protocol.js';

interface WireTag {
  Key: string;
  Value?: string;
}

export const tagsFromWire = (
  tags: readonly WireTag[] | undefined,
): { key: string; value: string }[] =>
  (tags ?? []).map((t) => ({ key: t.Key, value: t.Value ?? '' }));

export const tagsToWire = (tags: readonly { key: string; value: string }[]): WireTag[] =>
  tags.map((t) => ({ Key: t.key, Value: t.value }));

/** ListTags' page size when MaxResults is absent (the model's minimum; SageMaker's default). */
export const LIST_TAGS_DEFAULT_MAX_RESULTS = 50;

const encodeToken = (afterKey: string): string =>
  Buffer.from(JSON.stringify({ after: afterKey }), 'utf8').toString('base64url');

function decodeToken(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      after?: unknown;
    };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through to the validation error
  }
  throw new AppError(
    ErrorCodes.Validation,
    `Invalid pagination token '${token}'; pass the NextToken a previous ListTags call returned`,
  );
}

/**
 * AddTags / ListTags / DeleteTags for every resource. Tags belong to resources: an ARN is resolved
 * to the resource's own ARN (names in any case, as SageMaker's ARNs are case-insensitive) and one
 * that names no resource of this server (another region or account, an unknown type, a name
 * nobody has) is a ValidationException, as SageMaker answers. `arnExists` asks the contexts about
 * an ARN in canonical form: true/false for ARNs a context owns, undefined for ARNs nobody claims.
 */
export function tagOperations(deps: {
  tags: TagRepository;
  arn: ArnContext;
  arnExists: (arn: string) => Promise<boolean | undefined>;
}): OperationTable {
  const resolve = async (arn: string): Promise<string> => {
    const parsed = parseSagemakerArn(arn.toLowerCase());
    if (!parsed) {
      throw new AppError(ErrorCodes.Validation, `'${arn}' is not a SageMaker resource ARN`);
    }
    const canonical = sagemakerArn(deps.arn, parsed.type as SageMakerResourceType, parsed.name);
    const ours =
      parsed.region === deps.arn.region.toLowerCase() && parsed.accountId === deps.arn.accountId;
    if (!ours || (await deps.arnExists(canonical)) !== true) {
      throw new AppError(ErrorCodes.Validation, `Resource ${arn} does not exist`);
    }
    return canonical;
  };
  return {
    async AddTags(input: { ResourceArn: string; Tags: WireTag[] }) {
      const arn = await resolve(input.ResourceArn);
      await deps.tags.add(arn, tagsFromWire(input.Tags));
      return { Tags: tagsToWire(await deps.tags.list(arn)) };
    },
    async ListTags(input: { ResourceArn: string; NextToken?: string; MaxResults?: number }) {
      const arn = await resolve(input.ResourceArn);
      const after = input.NextToken ? decodeToken(input.NextToken) : undefined;
      const page = await deps.tags.page(
        arn,
        input.MaxResults ?? LIST_TAGS_DEFAULT_MAX_RESULTS,
        after,
      );
      return {
        Tags: tagsToWire(page.tags),
        ...(page.nextAfterKey !== undefined ? { NextToken: encodeToken(page.nextAfterKey) } : {}),
      };
    },
    async DeleteTags(input: { ResourceArn: string; TagKeys: string[] }) {
      const arn = await resolve(input.ResourceArn);
      await deps.tags.remove(arn, input.TagKeys);
      return {};
    },
  };
}
