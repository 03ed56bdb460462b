/**
 * A reason a job failed that the user can read: becomes `FailureReason` verbatim (SageMaker's
 * `ClientError: …` / `AlgorithmError: …` prefixes included by the thrower).
 */
export class JobFailure extends Error {
  override readonly name = 'JobFailure';
  constructor(
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(reason, options);
  }
}

/** FailureReason holds at most 1024 characters, as SageMaker's. */
export const clipReason = (s: string): string => (s.length > 1024 ? s.slice(0, 1021) + '...' : s);
