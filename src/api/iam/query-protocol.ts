import { escapeXml } from '../s3/xml.js';
import { wireError, type ErrorCatalog, type WireError } from '../error-catalog.js';

/**
 * AWS's query protocol (IAM, STS): form-encoded `Action=…&Version=…&Param=…` in, XML out. Lists
 * arrive as `Name.member.N`, maps/structures as `Name.member.N.Field`; responses wrap the result
 * in `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata/></ActionResponse>`.
 */

/** A response ready for the wire. */
export interface QueryResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The parameters of one query request (body and URL query together). */
export class QueryParams {
  constructor(private readonly params: URLSearchParams) {}

  /** Parses the form body of a POST and the URL's query (GET requests carry the parameters there). */
  static parse(rawUrl: string, body: Buffer): QueryParams {
    const q = rawUrl.indexOf('?');
    const all = new URLSearchParams(q >= 0 ? rawUrl.slice(q + 1) : '');
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) all.append(k, v);
    return new QueryParams(all);
  }

  get(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  /** `Name.member.1`, `Name.member.2`, … in order. */
  list(name: string): string[] {
    const out: string[] = [];
    for (let i = 1; ; i++) {
      const v = this.params.get(`${name}.member.${i}`);
      if (v === null) return out;
      out.push(v);
    }
  }

  /** `Name.member.N.Field` structures, in order, until one is missing. */
  structures(name: string, fields: readonly string[]): Record<string, string | undefined>[] {
    const out: Record<string, string | undefined>[] = [];
    for (let i = 1; ; i++) {
      const item: Record<string, string | undefined> = {};
      let any = false;
      for (const f of fields) {
        const v = this.params.get(`${name}.member.${i}.${f}`);
        if (v !== null) any = true;
        item[f] = v ?? undefined;
      }
      if (!any) return out;
      out.push(item);
    }
  }
}

/** An XML value: text, a nested element map, or a list rendered as repeated `<member>`s. */
export type QueryXml =
  | string
  | number
  | boolean
  | undefined
  | QueryXmlNode
  | { readonly member: readonly QueryXmlNode[] | readonly string[] };
export type QueryXmlNode = { readonly [element: string]: QueryXml };

function render(name: string, value: QueryXml, out: string[]): void {
  if (value === undefined) return;
  if (typeof value === 'object') {
    out.push(`<${name}>`);
    for (const [k, v] of Object.entries(value)) {
      if (Array.isArray(v)) for (const item of v as QueryXml[]) render(k, item, out);
      else render(k, v as QueryXml, out);
    }
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
}

const xmlHeaders = (requestId: string): Record<string, string> => ({
  'content-type': 'text/xml',
  'x-amzn-requestid': requestId,
});

/** `<{Action}Response xmlns><{Action}Result>…</…><ResponseMetadata><RequestId/></…></…>`. */
export function queryResult(
  action: string,
  namespace: string,
  result: QueryXmlNode | undefined,
  requestId: string,
): QueryResponse {
  const out: string[] = [`<${action}Response xmlns="${namespace}">`];
  if (result) render(`${action}Result`, result, out);
  render('ResponseMetadata', { RequestId: requestId }, out);
  out.push(`</${action}Response>`);
  return { status: 200, headers: xmlHeaders(requestId), body: out.join('') };
}

/**
 * The query protocol's error document. botocore's query, EC2 and rest-xml parsers all read it
 * (`ErrorResponse/Error/Code`), so it also answers services Apiary does not implement.
 */
export function queryErrorResponse(
  e: WireError,
  requestId: string,
  namespace?: string,
): QueryResponse {
  const out: string[] = [namespace ? `<ErrorResponse xmlns="${namespace}">` : '<ErrorResponse>'];
  render(
    'Error',
    { Type: e.status >= 500 ? 'Receiver' : 'Sender', Code: e.code, Message: e.message },
    out,
  );
  render('RequestId', requestId, out);
  out.push('</ErrorResponse>');
  return { status: e.status, headers: xmlHeaders(requestId), body: out.join('') };
}

/** A row of `catalog` as a query error response. */
export const queryError = <C extends ErrorCatalog>(
  catalog: C,
  code: keyof C & string,
  message: string | undefined,
  requestId: string,
  namespace?: string,
): QueryResponse => queryErrorResponse(wireError(catalog, code, message), requestId, namespace);

/** IAM and STS timestamps: ISO 8601 UTC without milliseconds, as the services write them. */
export const queryTime = (ms: number): string =>
  new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
