import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import { S3Error } from './errors.js';
import { header } from './request.js';

/**
 * What a request asks for: no encryption, SSE-S3, SSE-KMS with the account's default key (no key
 * id: what the SageMaker Python SDK sends with every upload), or SSE-C with the customer's key.
 */
export type SseRequest =
  | { readonly kind: 'none' }
  | { readonly kind: 'AES256' }
  | { readonly kind: 'KMS-default' }
  | { readonly kind: 'SSE-C'; readonly key: Buffer; readonly keyMd5: string };

const SSE = 'x-amz-server-side-encryption';

/**
 * Reads the SSE headers of a write (or, with `prefix` = 'x-amz-copy-source-', the key of a copy
 * source). SSE-KMS (`aws:kms`, `aws:kms:dsse`) and the bucket-key / KMS-context headers answer
 * NotImplemented naming SSE-KMS: accepting and ignoring them would let a client believe its data
 * is protected by a KMS key when it is not.
 */
export function parseSseHeaders(req: IncomingMessage, prefix = 'x-amz-'): SseRequest {
  if (prefix === 'x-amz-') {
    const sse = header(req, SSE);
    for (const h of [`${SSE}-aws-kms-key-id`, `${SSE}-context`]) {
      // AWS answers 400 when a KMS header comes without `aws:kms` (or with SSE-C / AES256).
      if (header(req, h) !== undefined && !(sse ?? '').startsWith('aws:kms')) {
        throw new S3Error(
          'InvalidArgument',
          `${h} requires ${SSE}: aws:kms (it was ${sse ?? 'absent'})`,
          { ArgumentName: h },
        );
      }
    }
    if (header(req, `${SSE}-bucket-key-enabled`) !== undefined) {
      throw kmsRefused(`${SSE}-bucket-key-enabled`);
    }
    if (sse !== undefined && sse !== 'AES256' && !sse.startsWith('aws:kms')) {
      throw new S3Error('InvalidArgument', `Unsupported ${SSE} value: ${sse}`, {
        ArgumentName: SSE,
        ArgumentValue: sse,
      });
    }
    const c = customerKey(req, `${prefix}server-side-encryption-customer-`);
    if (c !== undefined && sse !== undefined) {
      throw new S3Error(
        'InvalidArgument',
        'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
        { ArgumentName: SSE, ArgumentValue: sse },
      );
    }
    if (
      sse === 'aws:kms' &&
      header(req, `${SSE}-aws-kms-key-id`) === undefined &&
      header(req, `${SSE}-context`) === undefined
    )
      return { kind: 'KMS-default' };
    if (sse !== undefined && sse.startsWith('aws:kms')) throw kmsRefused(`${SSE}: ${sse}`);
    return c ?? (sse === 'AES256' ? { kind: 'AES256' } : { kind: 'none' });
  }
  return customerKey(req, `${prefix}server-side-encryption-customer-`) ?? { kind: 'none' };
}

function kmsRefused(what: string): S3Error {
  return new S3Error(
    'NotImplemented',
    `SSE-KMS is not implemented by Apiary (${what}); use AES256 (SSE-S3) or SSE-C`,
  );
}

function customerKey(req: IncomingMessage, p: string): SseRequest | undefined {
  const alg = header(req, `${p}algorithm`);
  const key64 = header(req, `${p}key`);
  const md5 = header(req, `${p}key-md5`);
  if (alg === undefined && key64 === undefined && md5 === undefined) return undefined;
  if (alg === undefined) {
    throw new S3Error(
      'InvalidArgument',
      'Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.',
      { ArgumentName: `${p}algorithm` },
    );
  }
  if (alg !== 'AES256') {
    throw new S3Error('InvalidArgument', 'The encryption method specified is not supported', {
      ArgumentName: `${p}algorithm`,
      ArgumentValue: alg,
    });
  }
  const key = Buffer.from(key64 ?? '', 'base64');
  if (key64 === undefined || key.length !== 32) {
    throw new S3Error(
      'InvalidArgument',
      'The secret key was invalid for the specified algorithm.',
      { ArgumentName: `${p}key` },
    );
  }
  const actual = createHash('md5').update(key).digest('base64');
  if (md5 === undefined) {
    // AWS requires it (SDKs and the aws CLI always send it): a mistyped key is caught here.
    throw new S3Error(
      'InvalidArgument',
      'Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.',
      { ArgumentName: `${p}key-md5` },
    );
  }
  if (md5 !== actual) {
    throw new S3Error(
      'InvalidArgument',
      'The calculated MD5 hash of the key did not match the hash that was provided.',
      { ArgumentName: `${p}key-md5` },
    );
  }
  return { kind: 'SSE-C', key, keyMd5: actual };
}

/**
 * The guard every write (PutObject, CopyObject, CreateMultipartUpload) runs: malformed headers
 * answer InvalidArgument, SSE-KMS with a named key (or DSSE, bucket keys, a context)
 * NotImplemented (above). `aws:kms` without a key is stored with SSE-S3 (sse-ops.ts) unless
 * `strict` (APIARY_S3_SSE_STRICT) refuses it: it asks for KMS, which Apiary does not have.
 */
export function guardSseHeaders(req: IncomingMessage, strict = false): SseRequest {
  const sse = parseSseHeaders(req);
  parseSseHeaders(req, 'x-amz-copy-source-');
  if (strict && sse.kind === 'KMS-default') {
    throw new S3Error(
      'NotImplemented',
      'SSE-KMS (x-amz-server-side-encryption: aws:kms) is not implemented by Apiary; APIARY_S3_SSE_STRICT refuses it instead of storing the object with SSE-S3 (AES256): ask for AES256 or omit the header',
      { Header: 'x-amz-server-side-encryption' },
    );
  }
  return sse;
}
