import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { planBody, requestBody, type BodyPlan } from './body.js';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { header } from './request.js';

/** The largest object a single PUT may carry (S3: 5 GiB); larger ones need multipart. */
export const MAX_PUT_BYTES = 5 * 1024 * 1024 * 1024;
const MAX_XML_BODY_BYTES = 2 * 1024 * 1024;

const xmlParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  isArray: (name) => name === 'Part' || name === 'Object',
});

/**
 * Reads a small (XML) body through the same decoding and verification as objects.
 * @throws S3Error MalformedXML beyond 2 MiB; InvalidDigest / BadDigest for a wrong Content-MD5.
 */
export async function readSmallBody(ctx: S3Context): Promise<Buffer> {
  const plan = planBody(ctx.req, ctx.auth);
  ctx.bodyStarted = true;
  const { body } = requestBody(ctx.req, plan, ctx.auth, {
    idleTimeoutMs: ctx.env.bodyIdleTimeoutMs,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += (c as Buffer).length;
    if (size > MAX_XML_BODY_BYTES) {
      throw new S3Error(
        'MalformedXML',
        `The XML you provided is larger than ${MAX_XML_BODY_BYTES} bytes.`,
      );
    }
    chunks.push(c as Buffer);
  }
  const buf = Buffer.concat(chunks);
  const md5 = header(ctx.req, 'content-md5');
  if (md5 !== undefined) {
    const expected = Buffer.from(md5, 'base64');
    if (expected.length !== 16)
      throw new S3Error('InvalidDigest', 'The Content-MD5 you specified is not valid.');
    if (!expected.equals(createHash('md5').update(buf).digest())) {
      throw new S3Error(
        'BadDigest',
        'The Content-MD5 you specified did not match what we received.',
      );
    }
  }
  return buf;
}

/**
 * The `<root>` element of an XML request body, DTDs refused (no entity expansion).
 * @throws S3Error MalformedXML when not well formed or `<root>` is missing.
 */
export function parseXml(buf: Buffer, root: string): Record<string, unknown> {
  const text = buf.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw new S3Error(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema: DTDs are not allowed.',
    );
  }
  let doc: Record<string, unknown>;
  try {
    doc = xmlParser.parse(text) as Record<string, unknown>;
  } catch {
    throw new S3Error(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema.',
    );
  }
  const node = doc[root];
  if (node === undefined || typeof node !== 'object' || node === null) {
    throw new S3Error(
      'MalformedXML',
      `The XML you provided was not well-formed or did not validate against our published schema: expected a <${root}> element.`,
    );
  }
  return node as Record<string, unknown>;
}

/**
 * The body of an object upload, decoded and verified as it streams.
 * @throws S3Error MissingContentLength without a length or chunked encoding; EntityTooLarge past
 * 5 GiB — before a byte is read.
 */
export function objectBody(ctx: S3Context, plan: BodyPlan): ReturnType<typeof requestBody> {
  const te = header(ctx.req, 'transfer-encoding');
  const cl = header(ctx.req, 'content-length');
  if (cl === undefined && te === undefined) {
    throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }
  const size =
    plan.mode.kind === 'chunked'
      ? plan.mode.decodedLength
      : cl !== undefined
        ? Number(cl)
        : undefined;
  if (size !== undefined && size > MAX_PUT_BYTES) {
    throw new S3Error(
      'EntityTooLarge',
      `Your proposed upload exceeds the maximum allowed object size of ${MAX_PUT_BYTES} bytes; use a multipart upload.`,
      {
        ProposedSize: String(size),
        MaxSizeAllowed: String(MAX_PUT_BYTES),
      },
    );
  }
  ctx.bodyStarted = true;
  return requestBody(ctx.req, plan, ctx.auth, { idleTimeoutMs: ctx.env.bodyIdleTimeoutMs });
}
