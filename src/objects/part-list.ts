import { ObjectStoreError } from './errors.js';
import type {
  ChecksumAlgorithm,
  ChecksumCombiner,
  CompletedPart,
  ObjectChecksum,
} from './object-store.js';
import { unquote } from './write-rules.js';

/**
 * CompleteMultipartUpload's part list against the stored parts: order, ETags, sizes and part
 * checksums. Pure checks, no database: multipart.ts reads the upload's rows and commits.
 */

/**
 * The listed parts before any part row is read: at least one, in ascending order (a number may
 * repeat; see onePerPart). @throws ObjectStoreError MalformedXML, InvalidPartOrder.
 */
export function checkPartOrder(listed: readonly CompletedPart[], uploadId: string): void {
  if (listed.length === 0) {
    throw new ObjectStoreError(
      'MalformedXML',
      'You must specify at least one part to complete a multipart upload.',
    );
  }
  // A part number may repeat (see onePerPart); a smaller one after a larger is out of order.
  for (let i = 1; i < listed.length; i++) {
    if (listed[i]!.partNumber < listed[i - 1]!.partNumber) {
      throw new ObjectStoreError(
        'InvalidPartOrder',
        'The list of parts was not in ascending order. Parts must be ordered by part number.',
        {
          UploadId: uploadId,
        },
      );
    }
  }
}

/**
 * The stored part each listed part names, one per part number.
 * @throws ObjectStoreError InvalidPart (missing, or another ETag), EntityTooSmall (a part but the
 *   last under `minPartSize`).
 */
export function chooseParts<P extends { readonly etag: string; readonly size: unknown }>(
  listed: readonly CompletedPart[],
  stored: ReadonlyMap<number, P>,
  uploadId: string,
  minPartSize: number,
): { parts: CompletedPart[]; chosen: P[] } {
  const parts = onePerPart(listed, stored);
  const chosen = parts.map((p, i) => {
    const s = stored.get(p.partNumber);
    if (!s || unquote(s.etag) !== unquote(p.etag)) {
      throw new ObjectStoreError(
        'InvalidPart',
        `One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag (part ${p.partNumber}).`,
        { UploadId: uploadId, PartNumber: String(p.partNumber), ETag: p.etag },
      );
    }
    if (i < parts.length - 1 && Number(s.size) < minPartSize) {
      throw new ObjectStoreError(
        'EntityTooSmall',
        `Your proposed upload is smaller than the minimum allowed object size: part ${p.partNumber} is ${Number(s.size)} bytes; every part but the last must be at least ${minPartSize} bytes.`,
        {
          PartNumber: String(p.partNumber),
          ProposedSize: String(Number(s.size)),
          MinSizeAllowed: String(minPartSize),
        },
      );
    }
    return s;
  });
  return { parts, chosen };
}

/**
 * The completed object's checksum: the upload's algorithm over its parts' checksums (COMPOSITE,
 * `…-N`) or combined into the whole object's CRC (FULL_OBJECT); none when the upload chose no
 * algorithm or a part arrived without that algorithm's checksum.
 * @throws ObjectStoreError InvalidPart when the client's `<ChecksumX>` of a part is not the stored one.
 */
export function multipartChecksum(
  upload: { checksum_algorithm?: string | null; checksum_type?: string | null },
  parts: readonly CompletedPart[],
  chosen: readonly { part_number: number; size: number; checksum?: string | null }[],
  uploadId: string,
  combine: ChecksumCombiner | undefined,
): ObjectChecksum | undefined {
  const algorithm = upload.checksum_algorithm as ChecksumAlgorithm | null | undefined;
  const stored = chosen.map((p) =>
    p.checksum ? (JSON.parse(p.checksum) as ObjectChecksum) : undefined,
  );
  parts.forEach((p, i) => {
    const s = stored[i];
    if (p.checksum !== undefined && s !== undefined && p.checksum.trim() !== s.value) {
      throw new ObjectStoreError(
        'InvalidPart',
        `One or more of the specified parts could not be found: the checksum given for part ${p.partNumber} is not the one it was uploaded with.`,
        { UploadId: uploadId, PartNumber: String(p.partNumber) },
      );
    }
  });
  if (!algorithm || !combine || stored.some((s) => s?.algorithm !== algorithm)) return undefined;
  const type = upload.checksum_type === 'FULL_OBJECT' ? 'FULL_OBJECT' : 'COMPOSITE';
  const value = combine(
    { algorithm, type },
    stored.map((s, i) => ({ value: s!.value, size: Number(chosen[i]!.size) })),
  );
  return { algorithm, value };
}

/**
 * One entry per part number. A number listed more than once in a row is a part re-sent while its
 * first send was still running, the client holding both ETags (ceph's
 * test_multipart_resend_first_finishes_last): the entry whose ETag names the part's last
 * completed send counts, whichever it is; when none does, the last one, for InvalidPart to name.
 */
function onePerPart(
  listed: readonly CompletedPart[],
  stored: ReadonlyMap<number, { readonly etag: string }>,
): CompletedPart[] {
  const out: CompletedPart[] = [];
  for (const p of listed) {
    const prev = out[out.length - 1];
    if (prev?.partNumber !== p.partNumber) {
      out.push(p);
      continue;
    }
    const etag = stored.get(p.partNumber)?.etag;
    if (etag === undefined || unquote(etag) !== unquote(prev.etag)) out[out.length - 1] = p;
  }
  return out;
}
