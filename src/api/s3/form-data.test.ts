import { describe, expect, it } from 'vitest';
import { formBoundary, readForm } from './form-data.js';

const B = 'XyZboundary';
const body = (file: string) =>
  Buffer.from(
    `preamble\r\n--${B}\r\nContent-Disposition: form-data; name="Key"\r\n\r\na/\${filename}\r\n` +
      `--${B}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\n` +
      `${file}\r\n--${B}--\r\n`,
  );

async function* chunks(buf: Buffer, size: number) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const collect = async (r: AsyncIterable<Buffer>) => {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out).toString();
};

describe('readForm', () => {
  it('reads fields (names lower-cased) and streams the file, whatever the chunking', async () => {
    const file = `line one\r\n--${B.slice(0, 5)} not a boundary\r\n`.repeat(3);
    for (const size of [1, 2, 3, 7, 13, 64, 4096]) {
      const form = await readForm(chunks(body(file), size), B, 1024);
      expect(form.fields.get('key')).toBe('a/${filename}');
      expect(form.file?.filename).toBe('f.txt');
      expect(form.file?.contentType).toBe('text/plain');
      expect(await collect(form.file!.body)).toBe(file);
      expect(await form.drain(1024)).toBe(true);
    }
  });

  it('refuses fields past the pre-data limit and a file without its closing boundary', async () => {
    await expect(readForm(chunks(body('x'), 5), B, 40)).rejects.toMatchObject({
      code: 'MaxPostPreDataLengthExceeded',
    });
    const cut = body('abc').subarray(0, body('abc').length - 12);
    const form = await readForm(chunks(cut, 8), B, 1024);
    await expect(collect(form.file!.body)).rejects.toMatchObject({ code: 'MalformedPOSTRequest' });
  });

  it('finds the boundary of a multipart/form-data Content-Type only', () => {
    expect(formBoundary('multipart/form-data; boundary=abc')).toBe('abc');
    expect(formBoundary('multipart/form-data; boundary="a b"')).toBe('a b');
    expect(formBoundary('application/xml')).toBeUndefined();
  });
});
