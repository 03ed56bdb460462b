import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js';
import { allMigrations } from '../api/migrations.js';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { ListQuery } from '../shared/list-query.js';
import {
  createIndexes,
  createResourceTable,
  kvGet,
  kvPut,
  NameKeyedRepository,
  openDatabase,
  TagRepository,
  type MigrationSet,
  type NameKeyedRow,
} from './index.js';

// The repository contract: every helper of store/ behaves the same on SQLite and PostgreSQL.

interface WidgetRow extends NameKeyedRow {
  status: string;
  size_bytes: number;
  note: string | null;
}

interface Widget {
  readonly name: string;
  readonly arn: string;
  readonly status: string;
  readonly sizeBytes: number;
  readonly note: string | undefined;
  readonly createdAtMs: number;
}

const widgetMigrations: MigrationSet = {
  '9000_contract_widgets': {
    async up(db: Kysely<any>) {
      await createResourceTable(db, 'widgets', {
        status: 'text',
        size_bytes: 'bigint',
        note: 'text?',
      });
      await createIndexes(db, 'widgets', { status: 'status' });
    },
  },
};

const arnContext = { region: 'eu-west-1', accountId: '123456789012' };

class WidgetRepository extends NameKeyedRepository<WidgetRow, Widget> {
  constructor(db: Kysely<unknown>) {
    super(db, arnContext, {
      table: 'widgets',
      resourceType: 'model',
      toRecord: (r) => ({
        name: r.name,
        arn: r.arn,
        status: r.status,
        sizeBytes: Number(r.size_bytes),
        note: r.note ?? undefined,
        createdAtMs: Number(r.created_at_ms),
      }),
      alreadyExists: (_n, arn) =>
        new AppError(ErrorCodes.Validation, `Cannot create already existing model "${arn}".`),
      notFound: (_n, arn) => new AppError(ErrorCodes.Validation, `Could not find model "${arn}".`),
    });
  }

  create(name: string, createdAtMs: number, extra: Partial<WidgetRow> = {}): Promise<Widget> {
    return this.insertRow({
      name,
      name_lower: name.toLowerCase(),
      arn: this.arnOf(name),
      status: 'Active',
      size_bytes: 5_000_000_000_123,
      note: null,
      created_at_ms: createdAtMs,
      last_modified_ms: createdAtMs,
      ...extra,
    });
  }
}

const query = (q: Partial<ListQuery> = {}): ListQuery => ({
  maxResults: 100,
  offset: 0,
  sortBy: 'creationTime',
  sortOrder: 'asc',
  ...q,
});

describe.each(DIALECTS)('repository contract on %s', (dialect) => {
  let database: TestDatabase;
  let widgets: WidgetRepository;

  beforeAll(async () => {
    database = await openTestDatabase(dialect, widgetMigrations);
    widgets = new WidgetRepository(database.db as unknown as Kysely<unknown>);
  });
  afterAll(() => database.close());

  it('names its dialect', () => {
    expect(database.dialect).toBe(dialect);
  });

  it('inserts a resource once: the same name in another case is "already existing"', async () => {
    const created = await widgets.create('Alpha-1', 1_700_000_000_000);
    expect(created).toMatchObject({
      name: 'Alpha-1',
      arn: 'arn:aws:sagemaker:eu-west-1:123456789012:model/alpha-1',
      sizeBytes: 5_000_000_000_123,
    });
    await expect(widgets.create('ALPHA-1', 1_700_000_000_001)).rejects.toThrow(
      'Cannot create already existing model "arn:aws:sagemaker:eu-west-1:123456789012:model/alpha-1".',
    );
  });

  it('lets exactly one of many concurrent creates of a name win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        widgets.create(i % 2 ? 'race' : 'RACE', 1_700_000_000_100 + i),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCodes.Validation });
    }
  });

  it('finds by name in any case and reads BIGINT columns back as numbers', async () => {
    const found = await widgets.find('alpha-1');
    expect(found).toEqual({
      name: 'Alpha-1',
      arn: 'arn:aws:sagemaker:eu-west-1:123456789012:model/alpha-1',
      status: 'Active',
      sizeBytes: 5_000_000_000_123,
      note: undefined,
      createdAtMs: 1_700_000_000_000,
    });
    expect(await widgets.find('nobody')).toBeUndefined();
    await expect(widgets.get('nobody')).rejects.toThrow(
      'Could not find model "arn:aws:sagemaker:eu-west-1:123456789012:model/nobody".',
    );
  });

  it('resolves an ARN in any case to the stored one, and no other region, account, type or name', async () => {
    const stored = 'arn:aws:sagemaker:eu-west-1:123456789012:model/alpha-1';
    expect(await widgets.resolveArn(stored)).toBe(stored);
    expect(await widgets.resolveArn('ARN:AWS:SAGEMAKER:EU-WEST-1:123456789012:MODEL/ALPHA-1')).toBe(
      stored,
    );
    expect(
      await widgets.resolveArn('arn:aws:sagemaker:us-east-1:123456789012:model/alpha-1'),
    ).toBeUndefined();
    expect(
      await widgets.resolveArn('arn:aws:sagemaker:eu-west-1:000000000000:model/alpha-1'),
    ).toBeUndefined();
    expect(
      await widgets.resolveArn('arn:aws:sagemaker:eu-west-1:123456789012:endpoint/alpha-1'),
    ).toBeUndefined();
    expect(
      await widgets.resolveArn('arn:aws:sagemaker:eu-west-1:123456789012:model/beta'),
    ).toBeUndefined();
    expect(await widgets.resolveArn('not-an-arn')).toBeUndefined();
  });

  it('updates with a compare-and-set on status', async () => {
    await widgets.create('cas', 1_700_000_000_200);
    expect(await widgets.updateRow('CAS', { status: 'Busy' }, { status: 'Active' })).toBe(true);
    expect(await widgets.updateRow('cas', { status: 'Idle' }, { status: 'Active' })).toBe(false);
    expect(await widgets.updateRow('cas', { note: 'free text', size_bytes: 2 ** 40 })).toBe(true);
    expect(await widgets.get('cas')).toMatchObject({
      status: 'Busy',
      note: 'free text',
      sizeBytes: 2 ** 40,
    });
    expect(await widgets.updateRow('gone', { status: 'Busy' })).toBe(false);
  });

  it('deletes by name in any case and says whether a row was there', async () => {
    await widgets.create('Doomed', 1_700_000_000_300);
    expect(await widgets.deleteRow('DOOMED')).toBe(true);
    expect(await widgets.deleteRow('doomed')).toBe(false);
    expect(await widgets.find('doomed')).toBeUndefined();
  });

  it('lists with NameContains (case-insensitive, % and _ literal), time and status filters, sorting and paging', async () => {
    await widgets.create('list-b', 1_800_000_000_002, { status: 'Off' });
    await widgets.create('List-A', 1_800_000_000_001);
    await widgets.create('list-c', 1_800_000_000_003);
    const names = async (q: Partial<ListQuery>) =>
      (await widgets.list(query(q))).items.map((w) => w.name);

    expect(await names({ nameContains: 'LIST-' })).toEqual(['List-A', 'list-b', 'list-c']);
    expect(await names({ nameContains: 'list_' })).toEqual([]);
    expect(await names({ nameContains: '%' })).toEqual([]);
    await widgets.create('under_score\\x%y', 1_600_000_000_010);
    await widgets.create('underXscore', 1_600_000_000_011);
    expect(await names({ nameContains: 'R_S' })).toEqual(['under_score\\x%y']);
    expect(await names({ nameContains: 'e\\x%' })).toEqual(['under_score\\x%y']);
    expect(await names({ createdAfterMs: 1_800_000_000_001 })).toEqual(['list-b', 'list-c']);
    expect(await names({ createdBeforeMs: 1_800_000_000_002, nameContains: 'list' })).toEqual([
      'List-A',
    ]);
    expect(await names({ statusEquals: 'Off' })).toEqual(['list-b']);
    expect(
      await names({ nameContains: 'list', sortBy: 'creationTime', sortOrder: 'desc' }),
    ).toEqual(['list-c', 'list-b', 'List-A']);

    const first = await widgets.list(query({ nameContains: 'list', maxResults: 2 }));
    expect(first.items.map((w) => w.name)).toEqual(['List-A', 'list-b']);
    expect(first.nextOffset).toBe(2);
    const second = await widgets.list(query({ nameContains: 'list', maxResults: 2, offset: 2 }));
    expect(second.items.map((w) => w.name)).toEqual(['list-c']);
    expect(second.nextOffset).toBeUndefined();
  });

  it('keeps tags per resource ARN: add overwrites, pages by key, removes', async () => {
    const tags = new TagRepository(database.db);
    const arn = 'arn:aws:sagemaker:eu-west-1:123456789012:model/alpha-1';
    await tags.add(arn, [
      { key: 'b', value: '1' },
      { key: 'a', value: '2' },
      { key: 'B', value: 'upper' },
    ]);
    await tags.add(arn, [{ key: 'b', value: 'again' }]);
    await tags.add('arn:aws:sagemaker:eu-west-1:123456789012:model/other', [
      { key: 'x', value: 'y' },
    ]);
    expect(await tags.list(arn)).toEqual([
      { key: 'B', value: 'upper' },
      { key: 'a', value: '2' },
      { key: 'b', value: 'again' },
    ]);
    const page1 = await tags.page(arn, 2);
    expect(page1).toEqual({
      tags: [
        { key: 'B', value: 'upper' },
        { key: 'a', value: '2' },
      ],
      nextAfterKey: 'a',
    });
    expect(await tags.page(arn, 2, page1.nextAfterKey)).toEqual({
      tags: [{ key: 'b', value: 'again' }],
      nextAfterKey: undefined,
    });
    await tags.remove(arn, ['a', 'missing']);
    expect((await tags.list(arn)).map((t) => t.key)).toEqual(['B', 'b']);
    await tags.removeAll(arn);
    expect(await tags.list(arn)).toEqual([]);
    expect(await tags.list('arn:aws:sagemaker:eu-west-1:123456789012:model/other')).toHaveLength(1);
  });

  it('stores server-wide key/values and overwrites them', async () => {
    expect(await kvGet(database.db, 'secret')).toBeUndefined();
    await kvPut(database.db, 'secret', 'one');
    await kvPut(database.db, 'secret', 'two');
    expect(await kvGet(database.db, 'secret')).toBe('two');
  });

  it('commits a transaction whole or not at all', async () => {
    await expect(
      database.db.transaction().execute(async (trx) => {
        await kvPut(trx, 'in-trx', 'written');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await kvGet(database.db, 'in-trx')).toBeUndefined();
  });
});

describe.each(DIALECTS)("every context's migrations on %s", (dialect) => {
  const all: MigrationSet = allMigrations;

  it('run from scratch, then again as a no-op on the migrated database, keeping its rows', async () => {
    const database = await openTestDatabase(dialect, all);
    try {
      const tables = (await database.db.introspection.getTables()).map((t) => t.name);
      expect(tables).toEqual(
        expect.arrayContaining([
          's3_buckets',
          's3_bucket_lifecycle',
          'endpoint_configs',
          'endpoints',
          'kv',
          'leases',
          'replicas',
          'training_log_lines',
          'labeling_jobs',
          'models',
          'sessions',
          'tags',
          'training_jobs',
          'tuning_jobs',
          'tuning_trials',
          'users',
          'workteams',
          'iam_roles',
        ]),
      );
      await kvPut(database.db, 'kept', 'yes');
      const again = await openDatabase({
        dataDir: database.dataDir,
        databaseUrl: database.databaseUrl,
        migrations: all,
      });
      try {
        expect(await kvGet(again.db, 'kept')).toBe('yes');
        const migrated = await again.db
          .withTables<{ kysely_migration: { name: string } }>()
          .selectFrom('kysely_migration')
          .select('name')
          .execute();
        expect(migrated).toHaveLength(Object.keys(all).length + 1);
      } finally {
        await again.close();
      }
    } finally {
      await database.close();
    }
  });
});
