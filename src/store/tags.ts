import type { Db } from './database.js';

export interface Tag {
  readonly key: string;
  readonly value: string;
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
