import { describe, expect, it } from 'vitest';
import { validateAnswer } from './answer-validation.js';
import type { JobSpec, TaskType } from './model.js';
import { TaskError } from './task-error.js';

const spec = (taskType: TaskType): JobSpec =>
  ({ taskType, labels: ['bee', 'wasp'] }) as unknown as JobSpec;

function invalid(taskType: TaskType, raw: unknown): string {
  let refused: unknown;
  try {
    validateAnswer(spec(taskType), raw);
  } catch (err) {
    refused = err;
  }
  expect(refused).toBeInstanceOf(TaskError);
  expect((refused as TaskError).code).toBe('Invalid');
  return (refused as TaskError).message;
}

describe('validateAnswer', () => {
  it('clips boxes to the image and drops degenerate ones', () => {
    const a = validateAnswer(spec('bounding-box'), {
      imageWidth: 64,
      imageHeight: 48,
      boxes: [
        { label: 'bee', left: -5, top: 40, width: 20, height: 20 },
        { label: 'wasp', left: 10, top: 10, width: 0.5, height: 10 },
      ],
    });
    expect(a).toEqual({
      kind: 'boxes',
      imageWidth: 64,
      imageHeight: 48,
      boxes: [{ label: 'bee', left: 0, top: 40, width: 15, height: 8 }],
    });
  });

  it('keeps an image with zero boxes', () => {
    expect(
      validateAnswer(spec('bounding-box'), { imageWidth: 1, imageHeight: 1, boxes: [] }),
    ).toEqual({
      kind: 'boxes',
      imageWidth: 1,
      imageHeight: 1,
      boxes: [],
    });
  });

  it('says what is wrong with a bad answer', () => {
    expect(invalid('bounding-box', null)).toBe('The answer must be a JSON object');
    expect(invalid('bounding-box', { imageWidth: 0, imageHeight: 10, boxes: [] })).toBe(
      'imageWidth and imageHeight must be the image size in pixels',
    );
    expect(
      invalid('bounding-box', {
        imageWidth: 9,
        imageHeight: 9,
        boxes: [{ label: 'bee', left: 'x' }],
      }),
    ).toBe('Every box needs numeric left, top, width, height');
    expect(invalid('image-classification', { label: 'hornet' })).toBe(
      `Unknown label "hornet"; the job's labels are bee, wasp`,
    );
    expect(invalid('image-classification-multilabel', { labels: 'bee' })).toBe(
      'labels must be an array',
    );
  });

  it('reads classification, multi-label (deduplicated) and verification answers', () => {
    expect(validateAnswer(spec('image-classification'), { label: 'wasp' })).toEqual({
      kind: 'label',
      label: 'wasp',
    });
    expect(
      validateAnswer(spec('image-classification-multilabel'), { labels: ['bee', 'bee', 'wasp'] }),
    ).toEqual({
      kind: 'labels',
      labels: ['bee', 'wasp'],
    });
    expect(
      validateAnswer(spec('verification-bounding-box'), { label: 'bee', comment: 'fine' }),
    ).toEqual({
      kind: 'verification',
      label: 'bee',
      comment: 'fine',
    });
    expect(
      validateAnswer(spec('adjustment-bounding-box'), {
        imageWidth: 8,
        imageHeight: 8,
        boxes: [],
        initialValueModified: 1,
      }),
    ).toMatchObject({ initialValueModified: true });
  });
});
