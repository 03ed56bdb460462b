import { AppError, ErrorCodes } from '../../shared/index.js';
import type { ChildJob, ChildStatus, MetricEvent, TrainingPort } from '../training-port.js';

type Listener = { status(job: ChildJob): void; metric(event: MetricEvent): void };

/**
 * An in-memory training context for orchestration tests: jobs stay InProgress until the test
 * reports metrics, completes, fails or stops them. Events are delivered synchronously, like the
 * real context's EventEmitter.
 */
export class FakeTraining implements TrainingPort {
  readonly jobs = new Map<
    string,
    ChildJob & { request: Record<string, unknown>; objective: string }
  >();
  readonly created: string[] = [];
  readonly stopRequests: string[] = [];
  private listeners: Listener[] = [];
  /** Makes the next create() throw this. */
  failNextCreate: AppError | undefined;
  now = 1_700_000_000_000;

  async create(
    request: { TrainingJobName: string } & Record<string, unknown>,
    options: { tuningJobArn: string; objective: { metricName: string } },
  ) {
    if (this.failNextCreate) {
      const e = this.failNextCreate;
      this.failNextCreate = undefined;
      throw e;
    }
    if (this.jobs.has(request.TrainingJobName)) throw new AppError(ErrorCodes.InUse, 'exists');
    this.jobs.set(request.TrainingJobName, {
      name: request.TrainingJobName,
      arn: `arn:aws:sagemaker:us-east-1:000000000000:training-job/${request.TrainingJobName.toLowerCase()}`,
      status: 'InProgress',
      failureReason: undefined,
      finalMetrics: [],
      trainingStartMs: this.now,
      trainingEndMs: undefined,
      tuningJobArn: options.tuningJobArn,
      request,
      objective: options.objective.metricName,
    });
    this.created.push(request.TrainingJobName);
  }

  async find(name: string) {
    return this.jobs.get(name);
  }

  async stop(name: string) {
    this.stopRequests.push(name);
    const j = this.jobs.get(name);
    if (!j) throw new AppError(ErrorCodes.NotFound, 'no such job');
    if (j.status !== 'InProgress') return;
    this.set(name, 'Stopped');
  }

  subscribe(listener: Listener) {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  hyperParameters(name: string): Record<string, string> {
    return this.jobs.get(name)!.request['HyperParameters'] as Record<string, string>;
  }

  running(): string[] {
    return [...this.jobs.values()].filter((j) => j.status === 'InProgress').map((j) => j.name);
  }

  /** Reports one value of the objective metric (as the log regex would). */
  report(name: string, value: number, metricName = this.jobs.get(name)!.objective) {
    const j = this.jobs.get(name)!;
    this.jobs.set(name, {
      ...j,
      finalMetrics: [
        ...j.finalMetrics.filter((m) => m.metricName !== metricName),
        { metricName, value },
      ],
    });
    for (const l of this.listeners)
      l.metric({ jobName: name, metricName, value, timestampMs: this.now });
  }

  complete(name: string, objective?: number) {
    if (objective !== undefined) this.report(name, objective);
    this.set(name, 'Completed');
  }

  fail(name: string, reason: string) {
    this.set(name, 'Failed', reason);
  }

  private set(name: string, status: ChildStatus, failureReason?: string) {
    const j = this.jobs.get(name)!;
    const next = { ...j, status, failureReason, trainingEndMs: this.now };
    this.jobs.set(name, next);
    for (const l of this.listeners) l.status(next);
  }
}
