import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.js';

/** How long a presigned URL may wait before it is used (SageMaker: 5 minutes). */
export const PRESIGNED_URL_TTL_MS = 5 * 60_000;

const hash = (token: string): string => createHash('sha256').update(token).digest('hex');
/** A random 256-bit token, URL-safe. */
export const newToken = (): string => randomBytes(32).toString('base64url');

/**
 * CreatePresignedNotebookInstanceUrl's single-use tokens and the proxy sessions they become
 * (table `notebook_sessions`). Only SHA-256 of a token is stored: a database reader cannot open
 * an instance.
 */
export class NotebookSessions {
  constructor(
    private readonly db: Kysely<any>,
    private readonly clock: Clock,
  ) {}

  /** A single-use token for instance `nameLower`, valid {@link PRESIGNED_URL_TTL_MS}. */
  async presign(nameLower: string, sessionSeconds: number): Promise<string> {
    const token = newToken();
    await this.db
      .insertInto('notebook_sessions')
      .values({
        token_hash: hash(token),
        kind: 'url',
        instance_name_lower: nameLower,
        expires_at_ms: this.clock.nowMs() + PRESIGNED_URL_TTL_MS,
        session_seconds: sessionSeconds,
        used: 0,
      })
      .execute();
    return token;
  }

  /**
   * Turns a presigned URL's token into a session for that instance: undefined when it is
   * unknown, for another instance, used already or expired.
   */
  async redeem(
    name: string,
    token: string,
  ): Promise<{ session: string; maxAgeSeconds: number } | undefined> {
    const now = this.clock.nowMs();
    const res = await this.db
      .updateTable('notebook_sessions')
      .set({ used: 1 })
      .where('token_hash', '=', hash(token))
      .where('kind', '=', 'url')
      .where('used', '=', 0)
      .where('instance_name_lower', '=', name.toLowerCase())
      .where('expires_at_ms', '>', now)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return undefined;
    const row = (await this.db
      .selectFrom('notebook_sessions')
      .select('session_seconds')
      .where('token_hash', '=', hash(token))
      .executeTakeFirst()) as { session_seconds: number };
    const seconds = Number(row.session_seconds);
    const session = newToken();
    await this.db
      .insertInto('notebook_sessions')
      .values({
        token_hash: hash(session),
        kind: 'session',
        instance_name_lower: name.toLowerCase(),
        expires_at_ms: now + seconds * 1000,
        session_seconds: seconds,
        used: 0,
      })
      .execute();
    return { session, maxAgeSeconds: seconds };
  }

  /** Whether a proxy session (from a presigned URL) is valid for this instance. */
  async allows(name: string, session: string | undefined): Promise<boolean> {
    if (!session) return false;
    const row = await this.db
      .selectFrom('notebook_sessions')
      .select(['instance_name_lower', 'expires_at_ms'])
      .where('token_hash', '=', hash(session))
      .where('kind', '=', 'session')
      .executeTakeFirst();
    const r = row as { instance_name_lower: string; expires_at_ms: number } | undefined;
    return (
      !!r &&
      r.instance_name_lower === name.toLowerCase() &&
      Number(r.expires_at_ms) > this.clock.nowMs()
    );
  }

  /** Ends every token and session of an instance (it is being deleted). */
  async forget(nameLower: string): Promise<void> {
    await this.db
      .deleteFrom('notebook_sessions')
      .where('instance_name_lower', '=', nameLower)
      .execute();
  }
}
