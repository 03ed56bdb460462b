import type { Db } from './database.js';

/** One resource tag, as SageMaker's `Tags` carry it. */
export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** One page of a resource's tags, in key order. */
export interface TagPage {
  readonly tags: readonly Tag[];
  /** The last key of this page when more follow (the next page starts after it). */
  readonly nextAfterKey: string | undefined;
}

/** Tags of any resource, keyed by its ARN (AddTags / ListTags / DeleteTags). */
export class TagRepository {
  constructor(private readonly db: Db) {}

  async add(arn: string, tags: readonly Tag[]): Promise<void> {
    if (tags.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const t of tags) {
        await trx
          .insertInto('tags')
          .values({ resource_arn: arn, key: t.key, value: t.value })
          .onConflict((oc) => oc.columns(['resource_arn', 'key']).doUpdateSet({ value: t.value }))
          .execute();
      }
    });
  }

  async list(arn: string): Promise<Tag[]> {
    const rows = await this.db
      .selectFrom('tags')
      .select(['key', 'value'])
      .where('resource_arn', '=', arn)
      .orderBy('key')
      .execute();
    return rows;
  }

  /** Up to `maxResults` tags in key order, starting after `afterKey` (keyset paging). */
  async page(arn: string, maxResults: number, afterKey?: string): Promise<TagPage> {
    let query = this.db.selectFrom('tags').select(['key', 'value']).where('resource_arn', '=', arn);
    if (afterKey !== undefined) query = query.where('key', '>', afterKey);
    const rows = await query
      .orderBy('key')
      .limit(maxResults + 1)
      .execute();
    const more = rows.length > maxResults;
    const tags = more ? rows.slice(0, maxResults) : rows;
    return { tags, nextAfterKey: more ? tags[tags.length - 1]!.key : undefined };
  }

  async remove(arn: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db
      .deleteFrom('tags')
      .where('resource_arn', '=', arn)
      .where('key', 'in', [...keys])
      .execute();
  }

  async removeAll(arn: string): Promise<void> {
    await this.db.deleteFrom('tags').where('resource_arn', '=', arn).execute();
  }
}
