import { describe, expect, it } from 'vitest';
import { createChecksum, crc32c, Crc64Nvme } from './checksums.js';

const check = Buffer.from('123456789');

describe('checksums', () => {
  it('computes the CRC-32C check value', () => {
    expect(crc32c(check).toString(16)).toBe('e3069283');
  });
  it('computes CRC-32C the same in pieces as in one go', () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff));
    expect(crc32c(data.subarray(300), crc32c(data.subarray(0, 300)))).toBe(crc32c(data));
  });
  it('computes the CRC-64/NVME check value', () => {
    const c = new Crc64Nvme();
    c.update(check);
    expect(c.digest().toString('hex')).toBe('ae8b14860a799888');
  });
  it('writes CRC32 as base64 of the big-endian value', () => {
    const c = createChecksum('CRC32');
    c.update(check);
    expect(Buffer.from(c.digestBase64(), 'base64').toString('hex')).toBe('cbf43926');
  });
});
