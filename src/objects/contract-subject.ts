import { createHash } from 'node:crypto';
import type { BlobStore } from './blob-store.js';
import type { DbObjectStore } from './db-object-store.js';

/** A store under test and the blob store behind it (to check what is left in it). */
export interface ContractSubject {
  readonly store: DbObjectStore;
  readonly blobs: BlobStore;
  close(): Promise<void>;
}

/** Builds a fresh store (own database, own blob space) with the given smallest part size. */
export type ContractFactory = (options: { minPartSizeBytes: number }) => Promise<ContractSubject>;

/** Every blob id in the store, sorted. */
export async function blobIds(blobs: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of blobs.list()) out.push(e.id);
  return out.sort();
}

/** The hex MD5 of `b` (what a single-part ETag holds). */
export const md5Hex = (b: Buffer) => createHash('md5').update(b).digest('hex');
