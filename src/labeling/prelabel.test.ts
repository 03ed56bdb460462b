import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LabelingContext } from './context.js';
import { boxesFromDetector, diffSuggestions, Prelabel, type PrelabelInvoker } from './prelabel.js';
import { openLabelingFixture, type LabelingFixture } from './testing/labeling-fixture.js';

let f: LabelingFixture;
beforeEach(async () => {
  f = await openLabelingFixture();
});
afterEach(async () => {
  await f.close();
});

const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
const ANSWER = JSON.stringify({
  image_size: [{ width: 64, height: 48, depth: 3 }],
  annotations: [
    { class_id: 0, score: 0.9, left: 4, top: 4, width: 20, height: 10 },
    { class_id: 1, score: 0.6, left: 30, top: 20, width: 10, height: 10 },
    { class_id: 1, score: 0.1, left: 0, top: 0, width: 64, height: 48 },
    { class_id: 7, score: 0.9, left: 0, top: 0, width: 5, height: 5 },
  ],
});

/** The fixture's parts with a job that names endpoint `bees-od` and an invoker of our choice. */
async function setUp(invoke: PrelabelInvoker, timeoutMs = 1000) {
  const job = await f.createJob('pre', 1, {
    tags: [{ key: 'apiary:prelabel-endpoint', value: 'bees-od' }],
  });
  await f.objects.putObject('bees', 'img-0.jpg', PNG_HEAD, { contentType: 'image/png' });
  const ctx: LabelingContext = {
    ...f.ctx,
    deps: { ...f.ctx.deps, prelabel: { invoke, timeoutMs } },
  };
  const obj = await f.ctx.repo.getObject(job.name.toLowerCase(), 0);
  return { job, obj, prelabel: new Prelabel(ctx) };
}

describe('Prelabel', () => {
  it('asks the endpoint once per object and caches its boxes, named by the job labels', async () => {
    const calls: string[] = [];
    const { job, obj, prelabel } = await setUp(async (endpoint, _image, contentType) => {
      calls.push(`${endpoint} ${contentType}`);
      return ANSWER;
    });
    const first = await prelabel.forObject(job, obj);
    expect(first).toEqual({
      endpoint: 'bees-od',
      boxes: [
        { label: 'bee', left: 4, top: 4, width: 20, height: 10, score: 0.9 },
        { label: 'wasp', left: 30, top: 20, width: 10, height: 10, score: 0.6 },
      ],
    });
    expect(await prelabel.forObject(job, obj)).toEqual(first);
    expect(calls).toEqual(['bees-od image/png']);
  });

  it('an endpoint that never answers: the time bound gives a notice, and nothing is cached', async () => {
    let calls = 0;
    const { job, obj, prelabel } = await setUp(() => {
      calls++;
      return new Promise<string>(() => {});
    }, 20);
    const got = await prelabel.forObject(job, obj);
    expect(got?.boxes).toEqual([]);
    expect(got?.notice).toMatch(
      /endpoint bees-od could not be asked \(the endpoint did not answer within 20 ms\)/,
    );
    await prelabel.forObject(job, obj);
    expect(calls).toBe(2);
    expect(await prelabel.cached('pre', 0)).toBeUndefined();
    expect((await prelabel.summary(job)).objectsWithoutSuggestions).toBe(1);
  });

  it('an answer that is not the detector JSON is a notice too', async () => {
    const { job, obj, prelabel } = await setUp(async () => '{"prediction": []}');
    expect((await prelabel.forObject(job, obj))?.notice).toMatch(/built-in detector's JSON/);
  });
});

describe('boxesFromDetector', () => {
  it('drops low scores and class ids outside the labels', () => {
    expect(boxesFromDetector(ANSWER, ['bee'], 0.05).map((b) => b.label)).toEqual(['bee']);
  });
});

describe('diffSuggestions', () => {
  const s = [
    { label: 'bee', left: 0, top: 0, width: 100, height: 100 },
    { label: 'bee', left: 200, top: 0, width: 100, height: 100 },
    { label: 'bee', left: 400, top: 0, width: 100, height: 100 },
  ];
  it('tells kept, moved (with IoU), deleted and added apart', () => {
    const answer = [
      { label: 'bee', left: 0, top: 0, width: 100, height: 100 }, // kept
      { label: 'bee', left: 220, top: 0, width: 100, height: 100 }, // moved 20 px
      { label: 'wasp', left: 600, top: 0, width: 50, height: 50 }, // added; #3 deleted
    ];
    expect(diffSuggestions(s, answer)).toEqual([
      { action: 'kept', suggestion: 0, box: 0, iou: 1, labelChanged: false },
      { action: 'moved', suggestion: 1, box: 1, iou: 0.667, labelChanged: false },
      { action: 'deleted', suggestion: 2 },
      { action: 'added', box: 2 },
    ]);
  });
  it('a relabelled box in place is moved (label changed); a box moved far is deleted + added', () => {
    const answer = [
      { label: 'wasp', left: 0, top: 0, width: 100, height: 100 },
      { label: 'bee', left: 290, top: 0, width: 100, height: 100 },
    ];
    expect(diffSuggestions(s.slice(0, 2), answer)).toEqual([
      { action: 'moved', suggestion: 0, box: 0, iou: 1, labelChanged: true },
      { action: 'deleted', suggestion: 1 },
      { action: 'added', box: 1 },
    ]);
  });
});
