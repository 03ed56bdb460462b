import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostingFixtures } from '../../../test/fixtures/hosting.js';
import { extractModelArchive } from './artifact.js';
import { DEFAULT_ORT_MEMORY, OrtInstance, type TensorData } from './ort-instance.js';

let dir: string;
let model: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-ort-instance-'));
  await extractModelArchive(
    fs.createReadStream(path.join(await hostingFixtures(), 'detector.tar.gz')),
    path.join(dir, 'model'),
  );
  model = path.join(dir, 'model', 'model.onnx');
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** One deterministic 320×320 image (a gradient), as the variant feeds it. */
function feeds(): Record<string, TensorData> {
  const data = new Float32Array(3 * 320 * 320);
  for (let i = 0; i < data.length; i++) data[i] = (i % 320) / 320;
  return { images: { type: 'float32', dims: [1, 3, 320, 320], data } };
}

async function runOnce(inst: OrtInstance): Promise<Record<string, TensorData>> {
  await inst.start();
  try {
    const sent = feeds();
    const r = await inst.run(sent);
    // The input comes back intact for reuse (its buffer went to the worker and returned).
    expect(sent.images!.data.length).toBe(0);
    expect(Array.from(r.inputs!.images!.data.subarray(0, 400) as Float32Array)).toEqual(
      Array.from(feeds().images!.data.subarray(0, 400) as Float32Array),
    );
    return r.outputs;
  } finally {
    await inst.stop();
  }
}

describe('OrtInstance model mapping', () => {
  it('maps an ORT-format copy of the model and answers as the ONNX file does', async () => {
    const mapped = new OrtInstance('m', model, 1, () => {}, 2);
    const plain = new OrtInstance('p', model, 1, () => {}, 1, {
      ...DEFAULT_ORT_MEMORY,
      mappedModel: false,
    });
    const a = await runOnce(mapped);
    expect(mapped.mapped).toBe(true);
    expect(fs.existsSync(path.join(dir, 'model', 'model.apiary.ort'))).toBe(true);
    const b = await runOnce(plain);
    expect(plain.mapped).toBe(false);
    expect(Object.keys(a).sort()).toEqual(['boxes', 'labels', 'scores']);
    for (const name of Object.keys(b)) {
      expect(a[name]!.dims).toEqual(b[name]!.dims);
      expect(Array.from(a[name]!.data as Float32Array)).toEqual(
        Array.from(b[name]!.data as Float32Array),
      );
    }
  }, 60_000);

  it('falls back to the ONNX file when the ORT-format copy does not load', async () => {
    const copy = path.join(dir, 'model', 'model.apiary.ort');
    fs.writeFileSync(copy, 'not a model');
    const inst = new OrtInstance('f', model, 1, () => {}, 1);
    const out = await runOnce(inst);
    expect(inst.mapped).toBe(false);
    expect(out.scores!.dims).toEqual([1, 200]);
  }, 60_000);
});
