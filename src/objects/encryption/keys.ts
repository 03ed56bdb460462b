import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { KEY_BYTES } from './scheme.js';

/**
 * Key wrapping: an object's data key is stored in its row sealed (AES-256-GCM, random 96-bit
 * IV) by the master key (SSE-S3) or by the customer's key (SSE-C). Layout: iv(12) ‖ ct(32) ‖ tag(16).
 */
export function wrapKey(wrappingKey: Buffer, dataKey: Buffer): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', wrappingKey, iv);
  const ct = Buffer.concat([c.update(dataKey), c.final()]);
  return Buffer.concat([iv, ct, c.getAuthTag()]);
}

/** Unwraps a data key; `undefined` when the wrapping key is not the one that wrapped it. */
export function unwrapKey(wrappingKey: Buffer, wrapped: Buffer): Buffer | undefined {
  if (wrapped.length !== 12 + KEY_BYTES + 16) return undefined;
  const d = createDecipheriv('aes-256-gcm', wrappingKey, wrapped.subarray(0, 12));
  d.setAuthTag(wrapped.subarray(12 + KEY_BYTES));
  try {
    return Buffer.concat([d.update(wrapped.subarray(12, 12 + KEY_BYTES)), d.final()]);
  } catch {
    return undefined;
  }
}

/**
 * The SSE-C key's fingerprint kept in the row: HMAC-SHA256 under a random per-object salt. The
 * plain MD5 the issue names would let anyone with the database confirm a guessed key offline at
 * MD5 speed and link objects sharing a key; a salted keyed hash (what AWS stores) does neither.
 * Layout: salt(16) ‖ hmac(32).
 */
export function customerKeyHash(customerKey: Buffer, salt: Buffer = randomBytes(16)): Buffer {
  return Buffer.concat([salt, createHmac('sha256', salt).update(customerKey).digest()]);
}

/** Whether `customerKey` is the key whose `customerKeyHash` is `stored`. */
export function customerKeyMatches(customerKey: Buffer, stored: Buffer): boolean {
  if (stored.length !== 48) return false;
  return timingSafeEqual(customerKeyHash(customerKey, stored.subarray(0, 16)), stored);
}

/**
 * Loads the SSE-S3 master key from `file` (64 hex chars), creating it (0600) at first start.
 * Replicas sharing one database must share this file (or secret): a replica with another key
 * cannot open the others' objects.
 */
export function loadMasterKey(file: string): Buffer {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    try {
      writeFileSync(file, `${randomBytes(KEY_BYTES).toString('hex')}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
    } catch (err) {
      // Another process created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    chmodSync(file, 0o600);
  }
  const hex = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new Error(`SSE master key file ${file} must hold 64 hex characters (a 256-bit key)`);
  }
  return Buffer.from(hex, 'hex');
}
