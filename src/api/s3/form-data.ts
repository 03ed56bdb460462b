import { Readable } from 'node:stream';
import { S3Error } from './errors.js';

/**
 * A streaming `multipart/form-data` reader for browser POST uploads: the fields before the file
 * are read into memory (bounded), the file part is handed on as a stream, never buffered whole.
 */

/** The file part: its form name, file name, declared type and bytes. */
export interface FormFile {
  readonly field: string;
  readonly filename: string;
  readonly contentType: string | undefined;
  readonly body: Readable;
}

export interface Form {
  /** Fields before the file, names lower-cased (S3 treats form field names so). */
  readonly fields: Map<string, string>;
  readonly file: FormFile | undefined;
  /** Reads and discards what follows the file (up to `max` bytes); false when more was left. */
  drain(max: number): Promise<boolean>;
}

const malformed = (why: string): S3Error =>
  new S3Error(
    'MalformedPOSTRequest',
    `The body of your POST request is not well-formed multipart/form-data: ${why}`,
  );

/** The boundary of a `multipart/form-data` Content-Type, or undefined for any other type. */
export function formBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

function partHeaders(block: string): { name: string; filename?: string; type?: string } {
  let name: string | undefined;
  let filename: string | undefined;
  let type: string | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-type') type = value;
    if (key !== 'content-disposition') continue;
    if (!/^form-data\b/i.test(value)) throw malformed('a part is not form-data.');
    for (const m of value.matchAll(/;\s*([a-z*]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/gi)) {
      const v = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
      if (m[1]!.toLowerCase() === 'name') name = v;
      if (m[1]!.toLowerCase() === 'filename') filename = v;
    }
  }
  if (name === undefined) throw malformed('a part has no Content-Disposition name.');
  return { name, ...(filename !== undefined ? { filename } : {}), ...(type ? { type } : {}) };
}

/**
 * Reads fields up to the file part (the one named `file`).
 * @throws S3Error MaxPostPreDataLengthExceeded when the fields before the file pass `maxPreData`
 * bytes; MalformedPOSTRequest for a body that is not form-data.
 */
export async function readForm(
  source: AsyncIterable<Buffer>,
  boundary: string,
  maxPreData: number,
): Promise<Form> {
  const it = source[Symbol.asyncIterator]();
  let buf: Buffer = Buffer.alloc(0);
  let consumed = 0; // bytes before the file's data
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const r = await it.next();
    if (r.done) {
      ended = true;
      return false;
    }
    buf = buf.length === 0 ? r.value : Buffer.concat([buf, r.value]);
    return true;
  };
  const preDataCheck = (): void => {
    if (consumed + Math.min(buf.length, maxPreData + 1) > maxPreData) {
      throw new S3Error(
        'MaxPostPreDataLengthExceeded',
        `Your POST request fields preceding the upload file were too large: the limit is ${maxPreData} bytes.`,
      );
    }
  };
  /** Index of `needle` in buf from `from`, reading more (bounded by the pre-data limit). */
  const find = async (needle: Buffer, from = 0): Promise<number> => {
    for (;;) {
      const i = buf.indexOf(needle, from);
      if (i >= 0) {
        if (consumed + i > maxPreData) preDataCheck();
        return i;
      }
      preDataCheck();
      if (!(await more())) return -1;
    }
  };
  const take = (n: number): Buffer => {
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    consumed += n;
    return out;
  };

  const dashBoundary = Buffer.from('--' + boundary);
  const delimiter = Buffer.from('\r\n--' + boundary);
  const fields = new Map<string, string>();
  const drain = async (max: number): Promise<boolean> => {
    let left = max - buf.length;
    buf = Buffer.alloc(0);
    while (left >= 0 && (await more())) {
      left -= buf.length;
      buf = Buffer.alloc(0);
    }
    return left >= 0;
  };

  const first = await find(dashBoundary);
  if (first < 0) throw malformed('no boundary.');
  take(first + dashBoundary.length);
  for (;;) {
    // After a boundary: `--` ends the form, CRLF starts a part.
    while (buf.length < 2 && (await more()));
    if (buf.subarray(0, 2).toString() === '--') return { fields, file: undefined, drain };
    if (buf.subarray(0, 2).toString() !== '\r\n') throw malformed('bad boundary line.');
    take(2);
    const end = await find(Buffer.from('\r\n\r\n'));
    if (end < 0) throw malformed('part headers without an end.');
    const head = partHeaders(
      take(end + 4)
        .subarray(0, end)
        .toString('utf8'),
    );
    // The part named `file` is the file, as S3 decides (clients such as requests' `files=`
    // send every field with a file name).
    if (head.name.toLowerCase() === 'file') {
      return {
        fields,
        file: {
          field: head.name,
          filename: head.filename ?? '',
          contentType: head.type,
          body: Readable.from(fileBytes()),
        },
        drain,
      };
    }
    const valueEnd = await find(delimiter);
    if (valueEnd < 0) throw malformed('a field without its closing boundary.');
    const value = take(valueEnd).toString('utf8');
    take(delimiter.length);
    const name = head.name.toLowerCase();
    if (!fields.has(name)) fields.set(name, value);
  }

  async function* fileBytes(): AsyncGenerator<Buffer> {
    for (;;) {
      const i = buf.indexOf(delimiter);
      if (i >= 0) {
        if (i > 0) yield take(i);
        take(delimiter.length);
        return;
      }
      // Keep what could be the start of the delimiter; hand on the rest.
      const keep = Math.min(buf.length, delimiter.length - 1);
      if (buf.length > keep) yield Buffer.from(take(buf.length - keep));
      if (!(await more())) throw malformed('the file part has no closing boundary.');
    }
  }
}
