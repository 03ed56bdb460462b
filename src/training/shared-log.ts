import type { Kysely } from 'kysely';
import type { MigrationSet } from '../store/index.js';
import type { LogLine } from './logs.js';

/**
 * Training logs in the database, for replicas. A job's log file lives on the replica that runs
 * it; with several replicas (PostgreSQL), the runner's tailer also writes every line here, in
 * batches, so that any replica answers GetLogEvents, the console's log view and `apiary logs` —
 * during the job and after it, even when the replica that ran it is gone. One process writes a
 * job's lines (its lease holder); a takeover continues from the stored count.
 */
export interface SharedLogTables {
  training_log_lines: { job: string; seq: number; timestamp_ms: number; message: string };
}

/** Schema migrations of the log table that lets every replica read any job's logs. */
export const sharedLogMigrations: MigrationSet = {
  '0290_training_log_lines': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('training_log_lines')
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('timestamp_ms', 'bigint', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('training_log_lines_pk', ['job', 'seq'])
        .execute();
    },
  },
};

/** Rows per INSERT (PostgreSQL allows 65,535 parameters; 4 per row). */
const BATCH_ROWS = 1000;

export class SharedLog {
  private readonly db: Kysely<SharedLogTables>;
  private pending: { job: string; seq: number; timestamp_ms: number; message: string }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    db: Kysely<any>,
    private readonly onError: (err: unknown) => void,
    private readonly flushMs = 250,
  ) {
    this.db = db as Kysely<SharedLogTables>;
  }

  /** Queues a line of `job` (its sequence number is the file's); written within `flushMs`. */
  append(job: string, line: LogLine): void {
    this.pending.push({
      job: job.toLowerCase(),
      seq: line.seq,
      timestamp_ms: line.timestampMs,
      message: line.message,
    });
    if (this.pending.length >= BATCH_ROWS) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes what is queued; resolves when it is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      for (let i = 0; i < rows.length; i += BATCH_ROWS) {
        try {
          await this.db
            .insertInto('training_log_lines')
            .values(rows.slice(i, i + BATCH_ROWS))
            .onConflict((oc) => oc.columns(['job', 'seq']).doNothing())
            .execute();
        } catch (err) {
          this.onError(err);
        }
      }
    });
    return this.flushing;
  }

  async count(job: string): Promise<number> {
    const row = await this.db
      .selectFrom('training_log_lines')
      .select((eb) => eb.fn.max('seq').as('last'))
      .where('job', '=', job.toLowerCase())
      .executeTakeFirst();
    return row?.last === null || row?.last === undefined ? 0 : Number(row.last) + 1;
  }

  /** Lines `fromSeq` … `fromSeq + limit - 1` that are stored. */
  async read(job: string, fromSeq: number, limit: number): Promise<LogLine[]> {
    if (limit <= 0) return [];
    const rows = await this.db
      .selectFrom('training_log_lines')
      .select(['seq', 'timestamp_ms', 'message'])
      .where('job', '=', job.toLowerCase())
      .where('seq', '>=', Math.max(0, fromSeq))
      .where('seq', '<', Math.max(0, fromSeq) + limit)
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      timestampMs: Number(r.timestamp_ms),
      message: r.message,
    }));
  }

  async timeRange(job: string): Promise<{ first: number; last: number } | undefined> {
    const row = await this.db
      .selectFrom('training_log_lines')
      .select((eb) => [eb.fn.min('timestamp_ms').as('first'), eb.fn.max('timestamp_ms').as('last')])
      .where('job', '=', job.toLowerCase())
      .executeTakeFirst();
    if (row?.first === null || row?.first === undefined) return undefined;
    return { first: Number(row.first), last: Number(row.last) };
  }

  async remove(job: string): Promise<void> {
    await this.db.deleteFrom('training_log_lines').where('job', '=', job.toLowerCase()).execute();
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

/** A job's log as readers see it: the local file (one server) or the database (replicas). */
export interface JobLogReader {
  count(): Promise<number>;
  read(fromSeq: number, limit: number): Promise<LogLine[]>;
  timeRange(): Promise<{ first: number; last: number } | undefined>;
}

export function sharedLogReader(log: SharedLog, job: string): JobLogReader {
  return {
    count: () => log.count(job),
    read: (from, limit) => log.read(job, from, limit),
    timeRange: () => log.timeRange(job),
  };
}
