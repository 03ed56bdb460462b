import type { TestServer } from './server.js';

/**
 * A cookie-holding client for the console's /_apiary/api routes, as a browser would call them:
 * session cookie from the login answer, `x-apiary-csrf` on every mutating request.
 */
export class ConsoleClient {
  private cookies = new Map<string, string>();
  csrf: string | undefined;

  constructor(readonly baseUrl: string) {}

  static async signIn(server: TestServer): Promise<ConsoleClient> {
    const c = new ConsoleClient(server.url);
    const res = await c.fetch('/_apiary/api/login', {
      method: 'POST',
      body: JSON.stringify({
        username: server.credentials.accessKeyId,
        password: server.credentials.secretAccessKey,
      }),
      headers: { 'content-type': 'application/json' },
    });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
    c.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
    return c;
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async fetch(path: string, init: RequestInit & { csrf?: boolean } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', this.cookieHeader);
    if (this.csrf && init.csrf !== false && init.method && init.method !== 'GET')
      headers.set('x-apiary-csrf', this.csrf);
    const res = await fetch(this.baseUrl + path, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /Max-Age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  async json<T = Record<string, unknown>>(
    path: string,
    init: RequestInit & { csrf?: boolean } = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await this.fetch(path, init);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
  }

  sagemaker<T = Record<string, unknown>>(operation: string, input: unknown) {
    return this.json<T>('/_apiary/api/sagemaker', {
      method: 'POST',
      headers: {
        'x-amz-target': `SageMaker.${operation}`,
        'content-type': 'application/x-amz-json-1.1',
      },
      body: JSON.stringify(input),
    });
  }
}
