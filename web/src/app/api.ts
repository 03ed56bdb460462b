/**
 * The console's HTTP client: every call carries the session cookie (same origin) and the CSRF
 * header; errors come back as ApiError with the server's code and message (SageMaker's vocabulary).
 */
export const API = '/_apiary/api';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken: string | undefined;

/** Remembers the CSRF token the login / me answer carried. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

function csrfFromCookie(): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k && /csrf/i.test(k)) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

const UNAUTHORIZED = 'apiary:unauthorized';

/** Fires when any call answers 401: the shell shows the login page again. */
export function onUnauthorized(listener: () => void): () => void {
  window.addEventListener(UNAUTHORIZED, listener);
  return () => window.removeEventListener(UNAUTHORIZED, listener);
}

/** The CSRF token to send with a mutating request (for requests not made by apiFetch). */
export function csrfHeader(): string | undefined {
  return csrfToken ?? csrfFromCookie();
}

export async function apiFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = csrfToken ?? csrfFromCookie();
  if (token && !headers.has('x-apiary-csrf')) headers.set('x-apiary-csrf', token);
  const res = await fetch(url.startsWith('/') ? url : `${API}/${url}`, {
    ...init,
    headers,
    credentials: 'same-origin',
  });
  if (!res.ok) throw await errorFrom(res);
  return res;
}

export async function errorFrom(res: Response): Promise<ApiError> {
  let code = res.headers.get('x-amzn-errortype') ?? `Http${res.status}`;
  let message = res.statusText || `Request failed with status ${res.status}`;
  try {
    const body = (await res.json()) as Record<string, unknown>;
    const nested =
      body.error && typeof body.error === 'object'
        ? (body.error as Record<string, unknown>)
        : undefined;
    const c = body.__type ?? body.code ?? nested?.code;
    const m = body.message ?? body.Message ?? nested?.message;
    if (typeof c === 'string') code = c.replace(/^.*#/, '').replace(/:.*$/, '');
    if (typeof m === 'string') message = m;
  } catch {
    // Not JSON: keep the status line.
  }
  if (res.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED));
  return new ApiError(code, message, res.status);
}

export async function apiJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (init.body !== undefined && !headers.has('content-type'))
    headers.set('content-type', 'application/json');
  const res = await apiFetch(url, { ...init, headers });
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

/**
 * Calls a SageMaker operation through the console route; the server runs the same JSON 1.1
 * protocol (and validation) as the SigV4 API.
 */
export function sagemaker<T = Record<string, unknown>>(
  operation: string,
  input: object = {},
): Promise<T> {
  return apiJson<T>(`${API}/sagemaker`, {
    method: 'POST',
    headers: {
      'x-amz-target': `SageMaker.${operation}`,
      'content-type': 'application/x-amz-json-1.1',
    },
    body: JSON.stringify(input),
  });
}

/** A user-facing sentence for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

let implemented: Promise<ReadonlySet<string>> | undefined;

/** The SageMaker operations this server implements (fetched once per page load). */
export function implementedOperations(): Promise<ReadonlySet<string>> {
  implemented ??= apiJson<{ operations: string[] }>(`${API}/operations`)
    .then((r) => new Set(r.operations))
    .catch(() => {
      implemented = undefined;
      return new Set<string>();
    });
  return implemented;
}
