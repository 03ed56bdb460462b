/**
 * The shape every protocol's error catalog shares: a table of code → HTTP status → default
 * message. One catalog per protocol (SageMaker JSON in `sagemaker/errors.ts`, CloudWatch Logs in
 * `logs/errors.ts`, the runtime in `runtime/errors.ts`, the console and worker portal in
 * `console/errors.ts`, S3 in `s3/errors.ts`); each protocol has one function that renders a row.
 */

/** One row of a protocol's error catalog. */
export interface ErrorSpec {
  /** The HTTP status the protocol answers with. */
  readonly status: number;
  /** The message when the thrower gives none. */
  readonly message: string;
  /**
   * The code on the wire when it is not the row's key: AWS sends one code with two statuses
   * (e.g. `SerializationException` 400 for bad JSON, 413 for a body over the limit).
   */
  readonly wireCode?: string;
}

/** A protocol's table of its error codes. */
export type ErrorCatalog = Readonly<Record<string, ErrorSpec>>;

/** What a protocol puts on the wire for one error. */
export interface WireError {
  readonly code: string;
  readonly status: number;
  readonly message: string;
}

/** Options every catalog error takes: what caused it and readonly context for the logs. */
export interface CatalogErrorOptions {
  readonly cause?: unknown;
  readonly context?: Readonly<Record<string, unknown>>;
}

/**
 * An error named by a row of a protocol's catalog. It carries no status: the protocol's edge looks
 * the code up in its catalog, so a code has one status per protocol.
 */
export class CatalogError<Code extends string = string> extends Error {
  override readonly name: string = 'CatalogError';
  readonly code: Code;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, options: CatalogErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.context = Object.freeze({ ...options.context });
  }
}

/** Whether `code` is a row of `catalog` (and so has a status there). */
export const inCatalog = <C extends ErrorCatalog>(
  catalog: C,
  code: unknown,
): code is keyof C & string => typeof code === 'string' && Object.hasOwn(catalog, code);

/** The wire code, status and message of a catalog row; `message` overrides the row's default. */
export function wireError<C extends ErrorCatalog>(
  catalog: C,
  code: keyof C & string,
  message?: string,
): WireError {
  const spec = catalog[code]!;
  return { code: spec.wireCode ?? code, status: spec.status, message: message ?? spec.message };
}

/** The message every protocol shows for an unexpected failure: no internals, the request id to report. */
export const internalErrorMessage = (requestId: string): string =>
  `The request processing has failed because of an unknown error (request id ${requestId}).`;
