/** A failure of a worker's task request; a portal route turns the code into an HTTP status. */
export class TaskError extends Error {
  constructor(
    readonly code: 'NotFound' | 'Conflict' | 'Gone' | 'Invalid',
    message: string,
    readonly currentVersion?: number,
  ) {
    super(message);
  }
}
