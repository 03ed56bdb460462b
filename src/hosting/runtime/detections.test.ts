import { describe, expect, it } from 'vitest';
import { formatResponse, parseAccept, parseCustomAttributes, toPredictions } from './detections.js';
import { sniffImage } from './image.js';

describe('detections', () => {
  const raw = {
    boxes: new Float32Array([0.1, 0.2, 0.3, 0.4, -0.5, 0.5, 1.5, 0.4, 0, 0, 0, 0]),
    scores: new Float32Array([0.8, 0.4, 0]),
    labels: new BigInt64Array([2n, 0n, 0n]),
  };

  it('drops padding, clamps to [0, 1], orders corners and applies threshold and top_k', () => {
    expect(toPredictions(raw, { scoreThreshold: 0, topK: undefined })).toEqual([
      [2, 0.8, 0.1, 0.2, 0.3, 0.4],
      [0, 0.4, 0, 0.4, 1, 0.5],
    ]);
    expect(toPredictions(raw, { scoreThreshold: 0.5, topK: undefined })).toHaveLength(1);
    expect(toPredictions(raw, { scoreThreshold: 0, topK: 1 })).toHaveLength(1);
  });

  it('turns NaN into ModelError', () => {
    const bad = { ...raw, scores: new Float32Array([NaN, 0, 0]) };
    expect(() => toPredictions(bad, { scoreThreshold: 0, topK: undefined })).toThrow(
      'The model returned NaN or infinite values',
    );
  });

  it('parses CustomAttributes and Accept', () => {
    expect(parseCustomAttributes(' score_threshold = 0.25 ; top_k=3;x=y')).toEqual({
      scoreThreshold: 0.25,
      topK: 3,
    });
    expect(parseCustomAttributes(undefined)).toEqual({ scoreThreshold: 0, topK: undefined });
    expect(() => parseCustomAttributes('top_k=0')).toThrow(
      /top_k='0' must be an integer between 1 and 10000/,
    );
    expect(parseAccept('application/json; annotation=1')).toBe('annotation');
    expect(parseAccept('*/*')).toBe('prediction');
    expect(parseAccept(undefined)).toBe('prediction');
    expect(() => parseAccept('image/png')).toThrow(/is not supported/);
  });

  it('writes the annotation format in pixels', () => {
    expect(
      JSON.parse(formatResponse([[0, 0.9, 0.25, 0.5, 0.75, 1]], 'annotation', 200, 100)),
    ).toEqual({
      image_size: [{ width: 200, height: 100, depth: 3 }],
      annotations: [{ class_id: 0, score: 0.9, left: 50, top: 50, width: 100, height: 50 }],
    });
  });

  it('sniffs formats by magic bytes', () => {
    expect(sniffImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffImage(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'))).toBe('png');
    expect(sniffImage(Buffer.from('GIF89a'))).toBe('gif');
    expect(sniffImage(Buffer.from('  <?xml version="1.0"?><svg></svg>'))).toBe('svg');
    expect(sniffImage(Buffer.alloc(0))).toBe('unknown');
  });
});
