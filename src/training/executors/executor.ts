/**
 * The executor port: runs one training job's process tree somewhere and lets the runner wait for
 * it, signal it, and find it again after a server restart. `local/` runs sandboxed local
 * processes; a Kubernetes executor (batch/v1 Jobs) can implement the same interface.
 */
export interface LaunchSpec {
  readonly jobName: string;
  /** Host folder the process sees as its ML root (`/opt/ml` in a sandbox). */
  readonly mlDir: string;
  /** argv; paths in it are as the process sees them. */
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Working directory as the process sees it. */
  readonly cwd: string;
  /** Host file that receives stdout and stderr (opened in append mode). */
  readonly logFile: string;
  /** For executors that run container images (Kubernetes): the image and the instances to ask for. */
  readonly kubernetes?: {
    readonly image: string;
    /** SageMaker's built-in algorithm (runs the configured algorithm image). */
    readonly builtIn: boolean;
    readonly instanceType: string;
    readonly instanceCount: number;
    readonly maxRuntimeSeconds: number;
    readonly attempt: number;
  };
}

export interface ExitInfo {
  /** Exit status; statuses above 128 from a shell wrapper mean "killed by signal (status - 128)". */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** A reason the platform found (out of memory, image pull, unschedulable): the job fails with it. */
  readonly failure?: string;
}

/** What the runner persists to find the process again after a restart. */
export interface ProcessRef {
  readonly pid: number;
  /** Kernel start time of the process (clock ticks since boot), to tell a reused pid apart. */
  readonly startTime: string;
  readonly exitFile: string;
  readonly sandbox: string;
  /** The Apiary replica that launched it: only that replica (after a restart) can re-attach. */
  readonly replica?: string;
  /** A Kubernetes Job instead of a local process (any replica can re-attach to it). */
  readonly kubernetes?: {
    readonly namespace: string;
    readonly job: string;
    readonly uid: string;
    readonly attempt: number;
    readonly jobName: string;
    readonly logFile: string;
    readonly mlDir: string;
  };
}

export interface RunningProcess {
  readonly ref: ProcessRef;
  /** Resolves when the whole job process has exited. */
  wait(): Promise<ExitInfo>;
  /** Signals the whole process tree (its process group). */
  signal(sig: NodeJS.Signals): void;
}

/** Port that runs a training job's process somewhere (local sandbox, Kubernetes) and reports its exit. */
export interface Executor {
  /** Human-readable, for logs: "bubblewrap sandbox", "plain child process (no sandbox)". */
  readonly description: string;
  /** Whether the process sees `/opt/ml` (true) or the host folder itself (false). */
  readonly isolated: boolean;
  /** The ML root as the process sees it, for a job folder. */
  mlRootFor(mlDir: string): string;
  launch(spec: LaunchSpec): Promise<RunningProcess>;
  /** The process again, when it still runs (same pid and start time); else undefined. */
  reattach(ref: ProcessRef): RunningProcess | undefined | Promise<RunningProcess | undefined>;
  /** Exit status a finished process left behind (read after a restart), else undefined. */
  leftExitStatus(ref: ProcessRef): ExitInfo | undefined | Promise<ExitInfo | undefined>;
  /** Runs any container image (Kubernetes) rather than only images Apiary knows how to run locally. */
  readonly runsImages?: boolean;
  /** False where Pipe mode cannot be fed (the job is refused with a ValidationException). */
  readonly supportsPipeMode?: boolean;
  /** Checked when training starts (e.g. RBAC); @throws a message for the operator. */
  check?(): Promise<void>;
  /** Stops watching (server shutdown); what runs elsewhere keeps running. */
  close?(): void;
  /** Whether the executor can size `instanceType` (CreateTrainingJob refuses others). */
  knowsInstanceType?(instanceType: string): boolean;
}
