import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../store/index.js';
import { kvGet, kvPut } from '../store/index.js';

/**
 * Short-lived signed image URLs: `<base64url(JSON payload)>.<base64url(HMAC-SHA256)>`. The payload
 * names the image (job + object, or an instruction image's S3 URI), the user it was minted for and
 * an expiry; the signing key lives in the kv table so restarts keep URLs valid.
 */
export interface ImageGrant {
  /** Job (lower-cased name) and object id, for a task or review image. */
  readonly j?: string;
  readonly o?: number;
  /** An S3 URI, for an instruction example image. */
  readonly s?: string;
  /** The user id the URL was minted for. */
  readonly u: string;
  /** Expiry, epoch ms. */
  readonly e: number;
}

export class ImageSigner {
  private constructor(private readonly key: Buffer) {}

  static async open(db: Db): Promise<ImageSigner> {
    let key = await kvGet(db, 'labeling.image-url-key');
    if (!key) {
      await kvPut(db, 'labeling.image-url-key', randomBytes(32).toString('base64'));
      key = await kvGet(db, 'labeling.image-url-key');
    }
    return new ImageSigner(Buffer.from(key!, 'base64'));
  }

  sign(grant: ImageGrant): string {
    const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /** The grant, or undefined when the token is malformed, forged or expired. */
  verify(token: string, nowMs: number): ImageGrant | undefined {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 4096) return undefined;
    const payload = token.slice(0, dot);
    const mac = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.mac(payload));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return undefined;
    try {
      const grant = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ImageGrant;
      return typeof grant.e === 'number' && grant.e > nowMs && typeof grant.u === 'string'
        ? grant
        : undefined;
    } catch {
      return undefined;
    }
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}

/** Image types served to the portal, recognised by their first bytes (never by the stored content type). */
export function sniffImageType(head: Buffer): string | undefined {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff)
    return 'image/jpeg';
  if (
    head.length >= 8 &&
    head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  )
    return 'image/png';
  if (head.length >= 6 && /^GIF8[79]a$/.test(head.subarray(0, 6).toString('latin1')))
    return 'image/gif';
  if (
    head.length >= 12 &&
    head.subarray(0, 4).toString('latin1') === 'RIFF' &&
    head.subarray(8, 12).toString('latin1') === 'WEBP'
  )
    return 'image/webp';
  return undefined;
}
