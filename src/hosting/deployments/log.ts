import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { MigrationSet } from '../../store/index.js';
import { addColumns } from '../../store/index.js';
import type { TrafficPoint } from './runner.js';

/** How an update ended (InProgress while it runs). */
export type DeploymentOutcome =
  'InProgress' | 'Completed' | 'RolledBack' | 'RollbackFailed' | 'Interrupted';

/** One UpdateEndpoint as the console shows it: the traffic timeline and how it ended. */
export interface DeploymentRecord {
  readonly id: string;
  readonly endpoint: string;
  readonly configName: string;
  readonly kind: string;
  readonly alarms: readonly string[];
  readonly startedAtMs: number;
  readonly endedAtMs: number | undefined;
  readonly outcome: DeploymentOutcome;
  readonly reason: string | undefined;
  readonly timeline: readonly TrafficPoint[];
}

export type DeploymentsTable = {
  endpoint_deployments: {
    id: string;
    endpoint_lower: string;
    endpoint: string;
    config_name: string;
    kind: string;
    alarms: string;
    started_at_ms: number;
    ended_at_ms: number | null;
    outcome: string;
    reason: string | null;
    timeline: string;
  };
};

export const deploymentMigrations: MigrationSet = {
  '0450_endpoint_deployments': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('endpoint_deployments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .$call((t) =>
          addColumns(t, {
            endpoint_lower: 'text',
            endpoint: 'text',
            config_name: 'text',
            kind: 'text',
            alarms: 'text',
            started_at_ms: 'bigint',
            ended_at_ms: 'bigint?',
            outcome: 'text',
            reason: 'text?',
            timeline: 'text',
          }),
        )
        .execute();
      await db.schema
        .createIndex('endpoint_deployments_endpoint')
        .on('endpoint_deployments')
        .columns(['endpoint_lower', 'started_at_ms'])
        .execute();
    },
  },
};

/** Deployments kept per endpoint (older ones are deleted as new ones start). */
export const DEPLOYMENTS_PER_ENDPOINT = 20;
/** Timeline points kept per deployment (a long LINEAR update keeps its last ones). */
const MAX_POINTS = 500;

type Row = DeploymentsTable['endpoint_deployments'];
const toRecord = (r: Row): DeploymentRecord => ({
  id: r.id,
  endpoint: r.endpoint,
  configName: r.config_name,
  kind: r.kind,
  alarms: JSON.parse(r.alarms) as string[],
  startedAtMs: Number(r.started_at_ms),
  endedAtMs: r.ended_at_ms === null ? undefined : Number(r.ended_at_ms),
  outcome: r.outcome as DeploymentOutcome,
  reason: r.reason ?? undefined,
  timeline: JSON.parse(r.timeline) as TrafficPoint[],
});

/** The deployment history of endpoints, bounded per endpoint. */
export class DeploymentLog {
  constructor(private readonly db: Kysely<DeploymentsTable>) {}

  async start(input: {
    endpoint: string;
    configName: string;
    kind: string;
    alarms: readonly string[];
    startedAtMs: number;
  }): Promise<string> {
    const id = randomUUID();
    await this.db
      .insertInto('endpoint_deployments')
      .values({
        id,
        endpoint_lower: input.endpoint.toLowerCase(),
        endpoint: input.endpoint,
        config_name: input.configName,
        kind: input.kind,
        alarms: JSON.stringify(input.alarms),
        started_at_ms: input.startedAtMs,
        ended_at_ms: null,
        outcome: 'InProgress',
        reason: null,
        timeline: '[]',
      })
      .execute();
    const old = await this.db
      .selectFrom('endpoint_deployments')
      .select('id')
      .where('endpoint_lower', '=', input.endpoint.toLowerCase())
      .orderBy('started_at_ms', 'desc')
      .offset(DEPLOYMENTS_PER_ENDPOINT)
      .limit(1000)
      .execute();
    if (old.length > 0)
      await this.db
        .deleteFrom('endpoint_deployments')
        .where(
          'id',
          'in',
          old.map((o) => o.id),
        )
        .execute();
    return id;
  }

  async addPoint(id: string, point: TrafficPoint): Promise<void> {
    const r = await this.db
      .selectFrom('endpoint_deployments')
      .select('timeline')
      .where('id', '=', id)
      .executeTakeFirst();
    if (!r) return;
    const timeline = [...(JSON.parse(r.timeline) as TrafficPoint[]), point].slice(-MAX_POINTS);
    await this.db
      .updateTable('endpoint_deployments')
      .set({ timeline: JSON.stringify(timeline) })
      .where('id', '=', id)
      .execute();
  }

  async finish(
    id: string,
    outcome: DeploymentOutcome,
    reason: string | undefined,
    endedAtMs: number,
  ): Promise<void> {
    await this.db
      .updateTable('endpoint_deployments')
      .set({ outcome, reason: reason ?? null, ended_at_ms: endedAtMs })
      .where('id', '=', id)
      .execute();
  }

  /** Ends every deployment of an endpoint still marked in progress (after a restart). */
  async interrupt(endpoint: string, reason: string, endedAtMs: number): Promise<void> {
    await this.db
      .updateTable('endpoint_deployments')
      .set({ outcome: 'Interrupted', reason, ended_at_ms: endedAtMs })
      .where('endpoint_lower', '=', endpoint.toLowerCase())
      .where('outcome', '=', 'InProgress')
      .execute();
  }

  /** An endpoint's deployments, newest first. */
  async list(endpoint: string): Promise<DeploymentRecord[]> {
    const rows = await this.db
      .selectFrom('endpoint_deployments')
      .selectAll()
      .where('endpoint_lower', '=', endpoint.toLowerCase())
      .orderBy('started_at_ms', 'desc')
      .execute();
    return rows.map(toRecord);
  }

  async forget(endpoint: string): Promise<void> {
    await this.db
      .deleteFrom('endpoint_deployments')
      .where('endpoint_lower', '=', endpoint.toLowerCase())
      .execute();
  }
}
