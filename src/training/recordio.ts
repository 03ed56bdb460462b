/** MXNet/dmlc RecordIO framing: magic, length with a 3-bit continuation flag, payload, padding. */
export const RECORDIO_MAGIC = 0xced7230a;
const MAX_LENGTH = (1 << 29) - 1;

/** One whole record (cflag 0) around `payload`, padded to a 4-byte boundary. */
export function recordioFrame(payload: Buffer): Buffer[] {
  if (payload.length > MAX_LENGTH) {
    throw new Error(
      `a RecordIO record holds at most ${MAX_LENGTH} bytes; this one has ${payload.length}`,
    );
  }
  const header = Buffer.alloc(8);
  header.writeUInt32LE(RECORDIO_MAGIC, 0);
  header.writeUInt32LE(payload.length, 4);
  const pad = (4 - (payload.length % 4)) % 4;
  return pad ? [header, payload, Buffer.alloc(pad)] : [header, payload];
}

/** Splits a buffer of whole records back into payloads (tests and tools). */
export function readRecordio(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    if (buf.readUInt32LE(off) !== RECORDIO_MAGIC)
      throw new Error(`bad RecordIO magic at byte ${off}`);
    const lrec = buf.readUInt32LE(off + 4);
    const len = lrec & MAX_LENGTH;
    out.push(buf.subarray(off + 8, off + 8 + len));
    off += 8 + len + ((4 - (len % 4)) % 4);
  }
  return out;
}
