import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { Kysely } from 'kysely';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { ArnContext } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import type { ListPage, ListQuery } from '../shared/list-query.js';
import type { Coordinator, TagRepository } from '../store/index.js';
import {
  NOTEBOOK_TRANSITIONS,
  NotebookStatus,
  type CreateNotebookInput,
  type NotebookInstanceRecord,
  type UpdateNotebookInput,
} from './model.js';
import { NotebookAccessKeys } from './access-keys.js';
import { LifecycleConfigs } from './lifecycle-configs.js';
import { notebookBasePath } from './jupyter.js';
import {
  LifecycleConfigRepository,
  NotebookInstanceRepository,
  type NotebookInstanceRow,
} from './repository.js';
import {
  instanceDirs,
  liveStartTime,
  logTail,
  signalGroup,
  type InstanceDirs,
  type SandboxOptions,
} from './sandbox.js';

import { NotebookSessions } from './sessions.js';
import { bootInstance, type BootHost, type Running } from './instance-boot.js';

export { TUTORIAL_NOTEBOOKS_DIR } from './instance-boot.js';
export { PRESIGNED_URL_TTL_MS } from './sessions.js';
export { notebookBasePath };

/** What the notebooks context needs: database, clock, ARNs, the sandbox and where instances live. */
export interface NotebooksDeps {
  readonly db: Kysely<any>;
  readonly clock: Clock;
  readonly arn: ArnContext;
  readonly tags: TagRepository;
  /** `<data-dir>/notebooks`. */
  readonly dir: string;
  readonly sandbox: SandboxOptions;
  /** Each lifecycle script's time limit (SageMaker: 5 minutes). */
  readonly lifecycleTimeoutMs: number;
  /** How long JupyterLab may take to answer before the instance is Failed. */
  readonly startTimeoutMs: number;
  readonly logger: { warn(obj: unknown, msg: string): void };
  /** Leases: a running instance is held by the replica that runs its JupyterLab (`notebook:<name>`). */
  readonly coordinator?: Pick<Coordinator, 'own' | 'disown' | 'ownerOf'>;
}

/** The lease a running instance's replica holds. */
export const notebookLease = (name: string): string => `notebook:${name.toLowerCase()}`;

/**
 * Notebook instances: records and their state machine, lifecycle configurations, the sandboxed
 * JupyterLab of each instance, the access key minted for it, and the presigned-URL tokens and
 * sessions the proxy checks.
 */
export class Notebooks {
  readonly instances: NotebookInstanceRepository;
  readonly configs: LifecycleConfigRepository;
  /** Create, update, delete of lifecycle configurations. */
  readonly lifecycleConfigs: LifecycleConfigs;
  private readonly keys: NotebookAccessKeys;
  private readonly sessions: NotebookSessions;
  private readonly running = new Map<string, Running>();
  /** Lifecycle scripts running now (killed on close). */
  private readonly scripts = new Set<number>();
  private apiaryUrl = '';
  private closed = false;
  private readonly booter: BootHost;

  constructor(private readonly deps: NotebooksDeps) {
    this.instances = new NotebookInstanceRepository(deps.db, deps.arn);
    this.configs = new LifecycleConfigRepository(deps.db, deps.arn);
    this.lifecycleConfigs = new LifecycleConfigs(this.configs, deps.tags, deps.clock);
    this.keys = new NotebookAccessKeys(deps.db);
    this.sessions = new NotebookSessions(deps.db, deps.clock);
    this.booter = {
      deps,
      instances: this.instances,
      configs: this.configs,
      keys: this.keys,
      scripts: this.scripts,
      apiaryUrl: () => this.apiaryUrl,
      closed: () => this.closed,
      own: async (name) => this.deps.coordinator?.own(notebookLease(name)),
      dirsOf: (rec) => this.dirsOf(rec),
      fail: (name, reason) => this.fail(name, reason),
      started: (name, run) => void this.running.set(name.toLowerCase(), run),
      onExit: (name, run, dirs) => this.onExit(name, run, dirs),
    };
  }

  /** Loads the instances' access keys (the authenticator asks {@link secretFor} synchronously). */
  async init(): Promise<void> {
    await this.keys.load();
  }

  /** The secret of an instance's access key, or undefined. */
  secretFor(accessKeyId: string): string | undefined {
    return this.keys.secretFor(accessKeyId);
  }

  /**
   * Starts serving: `apiaryUrl` is what kernels use as AWS_ENDPOINT_URL. Instances whose
   * JupyterLab still runs (Apiary was killed) are found again; the others that were Pending,
   * InService or Stopping are marked Stopped (their volumes are kept).
   */
  async start(apiaryUrl: string): Promise<void> {
    this.apiaryUrl = apiaryUrl;
    const open = await this.instances.inStatus(['Pending', 'InService', 'Stopping', 'Deleting']);
    for (const rec of open) {
      // Another live replica runs it: not ours to find again or to mark Stopped.
      if ((await this.owner(rec.name)).kind === 'peer') continue;
      const p = rec.process;
      if (rec.status === 'InService' && p && liveStartTime(p.pid) === p.startTime) {
        await this.deps.coordinator?.own(notebookLease(rec.name));
        this.adopt(rec.name, p.pid);
        continue;
      }
      if (p && liveStartTime(p.pid) === p.startTime) signalGroup(p.pid, 'SIGKILL');
      if (rec.status === 'Deleting') continue;
      await this.instances.updateRow(rec.name, {
        status: 'Stopped',
        process: null,
        last_modified_ms: this.deps.clock.nowMs(),
      });
    }
  }

  /** Stops every JupyterLab this process runs (their records are reconciled at the next start). */
  async close(): Promise<void> {
    this.closed = true;
    for (const pid of this.scripts) signalGroup(pid, 'SIGKILL');
    const all = [...this.running.values()];
    for (const r of all) {
      r.stopping = true;
      signalGroup(r.pid, 'SIGKILL');
    }
    await Promise.all(all.map((r) => r.exited));
  }

  /** Who runs an instance's JupyterLab: this replica, a peer (forward there), or nobody. */
  async owner(
    name: string,
  ): Promise<
    { kind: 'self' } | { kind: 'peer'; replicaId: string; url: string } | { kind: 'none' }
  > {
    if (!this.deps.coordinator || this.running.has(name.toLowerCase())) return { kind: 'self' };
    return this.deps.coordinator.ownerOf(notebookLease(name));
  }

  private release(name: string): void {
    this.deps.coordinator?.disown(notebookLease(name)).catch(() => undefined);
  }

  /** Whether an ARN names one of ours (tags); undefined for other resource types. */
  async arnExists(arn: string): Promise<boolean | undefined> {
    if (arn.includes(':notebook-instance-lifecycle-config/'))
      return (await this.configs.resolveArn(arn)) !== undefined;
    if (arn.includes(':notebook-instance/'))
      return (await this.instances.resolveArn(arn)) !== undefined;
    return undefined;
  }

  // ---- instances -----------------------------------------------------------------------------

  /** Creates the record and starts it (Pending → InService in the background). */
  async create(input: CreateNotebookInput): Promise<NotebookInstanceRecord> {
    if (input.lifecycleConfigName !== undefined)
      await this.requireConfig(input.lifecycleConfigName);
    const now = this.deps.clock.nowMs();
    const name = input.name;
    const row: NotebookInstanceRow = {
      name,
      name_lower: name.toLowerCase(),
      arn: this.instances.arnOf(name),
      status: NotebookStatus.Pending,
      failure_reason: null,
      instance_type: input.instanceType,
      role_arn: input.roleArn,
      lifecycle_config_name: input.lifecycleConfigName ?? null,
      volume_size_gb: input.volumeSizeInGb ?? 5,
      direct_internet_access: input.directInternetAccess ?? 'Enabled',
      root_access: input.rootAccess ?? 'Enabled',
      platform_identifier: input.platformIdentifier ?? 'notebook-al2-v3',
      dir_id: randomBytes(6).toString('hex'),
      created: 0,
      process: null,
      created_at_ms: now,
      last_modified_ms: now,
    };
    const rec = await this.instances.insertRow(row);
    await this.deps.tags.add(rec.arn, input.tags);
    // The instance's own access key: in its environment only, revoked on delete.
    await this.keys.mint(row.name_lower, now);
    this.boot(rec.name);
    return rec;
  }

  /** Stopped or Failed → Pending → InService. */
  async startInstance(name: string): Promise<void> {
    const rec = await this.instances.get(name);
    await this.move(rec, 'Pending', ['Stopped', 'Failed'], { failure_reason: null });
    this.boot(rec.name);
  }

  /** InService → Stopping → Stopped (JupyterLab and its kernels end; the volume stays). */
  async stopInstance(name: string): Promise<void> {
    const rec = await this.instances.get(name);
    await this.move(rec, 'Stopping', ['InService']);
    const run = this.running.get(rec.name.toLowerCase());
    if (run) {
      run.stopping = true;
      signalGroup(run.pid, 'SIGTERM');
      const killer = setTimeout(() => signalGroup(run.pid, 'SIGKILL'), 10_000);
      void run.exited.then(async () => {
        clearTimeout(killer);
        this.release(rec.name);
        await this.instances.updateRow(
          rec.name,
          { status: 'Stopped', process: null, last_modified_ms: this.deps.clock.nowMs() },
          { status: 'Stopping' },
        );
      });
    } else {
      await this.instances.updateRow(
        rec.name,
        { status: 'Stopped', process: null, last_modified_ms: this.deps.clock.nowMs() },
        { status: 'Stopping' },
      );
    }
  }

  /** Only while Stopped (or Failed), as SageMaker. */
  async update(input: UpdateNotebookInput): Promise<void> {
    const rec = await this.instances.get(input.name);
    if (rec.status !== 'Stopped' && rec.status !== 'Failed')
      throw this.badStatus(rec, 'Updating', ['Stopped', 'Failed']);
    if (input.lifecycleConfigName !== undefined)
      await this.requireConfig(input.lifecycleConfigName);
    const set: Partial<NotebookInstanceRow> = { last_modified_ms: this.deps.clock.nowMs() };
    if (input.instanceType !== undefined) set.instance_type = input.instanceType;
    if (input.roleArn !== undefined) set.role_arn = input.roleArn;
    if (input.lifecycleConfigName !== undefined)
      set.lifecycle_config_name = input.lifecycleConfigName;
    if (input.disassociateLifecycleConfig) set.lifecycle_config_name = null;
    if (input.rootAccess !== undefined) set.root_access = input.rootAccess;
    if (input.volumeSizeInGb !== undefined) {
      if (input.volumeSizeInGb < rec.volumeSizeInGb) {
        throw new AppError(
          ErrorCodes.Validation,
          `VolumeSizeInGB can only be increased (now ${rec.volumeSizeInGb}, asked ${input.volumeSizeInGb})`,
        );
      }
      set.volume_size_gb = input.volumeSizeInGb;
    }
    if (!(await this.instances.updateRow(rec.name, set, { status: rec.status })))
      throw this.badStatus(rec, 'Updating', ['Stopped', 'Failed']);
  }

  /** Only while Stopped or Failed: revokes the access key, removes the volume and the record. */
  async delete(name: string): Promise<void> {
    const rec = await this.instances.get(name);
    await this.move(rec, 'Deleting', ['Stopped', 'Failed']);
    const lower = rec.name.toLowerCase();
    await this.keys.revoke(lower);
    await this.sessions.forget(lower);
    fs.rmSync(this.dirsOf(rec).root, { recursive: true, force: true });
    await this.deps.tags.removeAll(rec.arn);
    await this.instances.deleteRow(rec.name);
    this.release(rec.name);
  }

  async list(q: ListQuery, lifecycleContains?: string): Promise<ListPage<NotebookInstanceRecord>> {
    if (lifecycleContains === undefined) return this.instances.list(q);
    const page = await this.instances.list({ ...q, offset: 0, maxResults: 100_000 });
    const items = page.items.filter((r) =>
      r.lifecycleConfigName?.toLowerCase().includes(lifecycleContains.toLowerCase()),
    );
    const slice = items.slice(q.offset, q.offset + q.maxResults);
    return {
      items: slice,
      nextOffset: q.offset + q.maxResults < items.length ? q.offset + q.maxResults : undefined,
    };
  }

  /** The instance's folders on the host. */
  dirsOf(rec: NotebookInstanceRecord): InstanceDirs {
    return instanceDirs(this.deps.dir, rec.dirId);
  }

  // ---- presigned URLs and proxy sessions -------------------------------------------------------

  /** A single-use token for CreatePresignedNotebookInstanceUrl (valid 5 minutes). */
  async presign(name: string, sessionSeconds: number): Promise<{ name: string; token: string }> {
    const rec = await this.instances.get(name);
    return {
      name: rec.name,
      token: await this.sessions.presign(rec.name.toLowerCase(), sessionSeconds),
    };
  }

  /**
   * Turns a presigned URL's token into a session for that instance: undefined when it is
   * unknown, for another instance, used already or expired.
   */
  redeem(
    name: string,
    token: string,
  ): Promise<{ session: string; maxAgeSeconds: number } | undefined> {
    return this.sessions.redeem(name, token);
  }

  /** Whether a proxy session (from a presigned URL) is valid for this instance. */
  sessionAllows(name: string, session: string | undefined): Promise<boolean> {
    return this.sessions.allows(name, session);
  }

  /** Where the proxy sends an InService instance's requests, or undefined. */
  async target(name: string): Promise<{ name: string; socket: string; token: string } | undefined> {
    const rec = await this.instances.find(name);
    if (!rec || rec.status !== 'InService' || !rec.process) return undefined;
    return { name: rec.name, socket: this.dirsOf(rec).socket, token: rec.process.token };
  }

  // ---- internals -----------------------------------------------------------------------------

  private async requireConfig(name: string): Promise<void> {
    if (!(await this.configs.find(name))) {
      throw new AppError(
        ErrorCodes.Validation,
        `Unable to describe Notebook Instance Lifecycle Config '${name}'. (Details: Notebook Instance Lifecycle Config does not exist)`,
      );
    }
  }

  private badStatus(rec: NotebookInstanceRecord, to: string, from: readonly string[]): AppError {
    return new AppError(
      ErrorCodes.Validation,
      `Status (${rec.status}) not in ([${from.join(', ')}]). Unable to transition to (${to}) for Notebook Instance (${rec.arn}).`,
    );
  }

  /** A compare-and-set move from one of `from` (as SageMaker, the message names the allowed ones). */
  private async move(
    rec: NotebookInstanceRecord,
    to: NotebookStatus,
    from: readonly NotebookStatus[],
    extra: Partial<NotebookInstanceRow> = {},
  ): Promise<void> {
    if (!from.includes(rec.status)) throw this.badStatus(rec, to, from);
    NOTEBOOK_TRANSITIONS.assertTransition(rec.status, to);
    const ok = await this.instances.updateRow(
      rec.name,
      { status: to, last_modified_ms: this.deps.clock.nowMs(), ...extra },
      { status: rec.status },
    );
    if (!ok) throw this.badStatus(await this.instances.get(rec.name), to, from);
  }

  private async fail(name: string, reason: string): Promise<void> {
    this.deps.logger.warn({ notebook: name }, `notebook instance failed: ${reason}`);
    this.release(name);
    await this.instances.updateRow(name, {
      status: 'Failed',
      failure_reason: reason.slice(0, 1024),
      process: null,
      last_modified_ms: this.deps.clock.nowMs(),
    });
  }

  /** Pending → InService in the background: lifecycle scripts, then JupyterLab. */
  private boot(name: string): void {
    void bootInstance(this.booter, name).catch((err: unknown) =>
      this.fail(name, `Apiary could not start the instance: ${(err as Error).message}`).catch(
        () => undefined,
      ),
    );
  }

  private async onExit(name: string, run: Running, dirs: InstanceDirs): Promise<void> {
    if (this.running.get(name.toLowerCase()) === run) this.running.delete(name.toLowerCase());
    if (run.stopping || this.closed) return;
    await this.fail(name, `JupyterLab exited unexpectedly: ${logTail(dirs, 400)}`);
  }

  /** A JupyterLab that outlived an Apiary restart: watched until it exits. */
  private adopt(name: string, pid: number): void {
    const run: Running = { child: undefined, pid, stopping: false, exited: Promise.resolve() };
    const startTime = liveStartTime(pid);
    run.exited = new Promise((resolve) => {
      const timer = setInterval(() => {
        if (liveStartTime(pid) === startTime) return;
        clearInterval(timer);
        resolve();
      }, 500);
      timer.unref();
    });
    this.running.set(name.toLowerCase(), run);
    void run.exited.then(async () => {
      if (this.running.get(name.toLowerCase()) === run) this.running.delete(name.toLowerCase());
      if (!run.stopping && !this.closed) await this.fail(name, 'JupyterLab exited unexpectedly');
    });
  }
}
