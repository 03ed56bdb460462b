import { describe, expect, it } from 'vitest';
import { captureKey, captureLine, captureConfigFromWire, DataCapture } from './capture.js';
import type { ObjectStore } from '../objects/index.js';
import { seededRandom } from '../shared/random.js';

const cfg = captureConfigFromWire({
  InitialSamplingPercentage: 100,
  DestinationS3Uri: 's3://b/cap/',
  CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
  CaptureContentTypeHeader: {
    CsvContentTypes: ['text/csv'],
    JsonContentTypes: ['application/json'],
  },
})!;
const req = {
  body: Buffer.from('1,2,3'),
  contentType: 'text/csv',
  accept: undefined,
  customAttributes: undefined,
  inferenceId: 'x',
  receivedAt: 0,
};
const res = {
  body: '{"a":1}',
  contentType: 'application/json',
  customAttributes: undefined,
  instanceId: 'i',
  modelLatencyUs: 1,
};

describe('data capture format', () => {
  it('writes one SageMaker capture line: CSV and JSON as text, the rest base64', () => {
    const line = JSON.parse(captureLine(cfg, req, res, Date.UTC(2026, 0, 2, 3, 4, 5, 678), 'id-1'));
    expect(line).toEqual({
      captureData: {
        endpointInput: {
          observedContentType: 'text/csv',
          mode: 'INPUT',
          data: '1,2,3',
          encoding: 'CSV',
        },
        endpointOutput: {
          observedContentType: 'application/json',
          mode: 'OUTPUT',
          data: '{"a":1}',
          encoding: 'JSON',
        },
      },
      eventMetadata: { eventId: 'id-1', inferenceTime: '2026-01-02T03:04:05Z', inferenceId: 'x' },
      eventVersion: '0',
    });
    const img = JSON.parse(
      captureLine(
        cfg,
        { ...req, contentType: 'image/png', body: Buffer.from([0, 255]) },
        res,
        0,
        'id',
      ),
    );
    expect(img.captureData.endpointInput).toMatchObject({ data: 'AP8=', encoding: 'BASE64' });
  });

  it('names files {prefix}/{endpoint}/{variant}/yyyy/mm/dd/hh/mm-ss-SSS-{id}.jsonl', () => {
    expect(captureKey('cap/', 'ep', 'AllTraffic', Date.UTC(2026, 0, 2, 3, 4, 5, 6), 'u')).toBe(
      'cap/ep/AllTraffic/2026/01/02/03/04-05-006-u.jsonl',
    );
    expect(captureKey('', 'ep', 'v', Date.UTC(2026, 11, 31, 23, 0, 0, 0), 'u')).toBe(
      'ep/v/2026/12/31/23/00-00-000-u.jsonl',
    );
  });
});

describe('DataCapture buffering', () => {
  it('keeps memory bounded while the store is slow and writes everything it kept at close', async () => {
    const written: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const objects = {
      async putObject(_b: string, _k: string, body: Buffer) {
        await gate;
        written.push(body.toString());
      },
    } as unknown as ObjectStore;
    const lineBytes = Buffer.byteLength(captureLine(cfg, req, res, 0)) + 1;
    const cap = new DataCapture({
      objects,
      random: seededRandom(1),
      nowMs: () => 0,
      maxBufferedBytes: lineBytes * 5,
      maxFileBytes: lineBytes * 2,
      flushIntervalMs: 60_000,
    });
    for (let i = 0; i < 12; i++) cap.record(cfg, 'ep', 'v', req, res);
    // 2 files of 2 lines are waiting on the store, 1 line is open: 5 lines held, the rest dropped.
    expect(cap.stats()).toMatchObject({ captured: 5, dropped: 7 });
    expect(cap.stats().bufferedBytes).toBeLessThanOrEqual(lineBytes * 5);
    release();
    await cap.close();
    expect(cap.stats()).toMatchObject({ written: 5, files: 3, bufferedBytes: 0 });
    expect(written.join('').trim().split('\n')).toHaveLength(5);
  });

  it('samples by InitialSamplingPercentage', async () => {
    const objects = { putObject: async () => {} } as unknown as ObjectStore;
    const cap = new DataCapture({
      objects,
      random: seededRandom(3),
      nowMs: () => 0,
      flushIntervalMs: 60_000,
    });
    for (let i = 0; i < 1000; i++)
      cap.record({ ...cfg, samplingPercentage: 20 }, 'ep', 'v', req, res);
    expect(cap.stats().captured).toBeGreaterThan(150);
    expect(cap.stats().captured).toBeLessThan(250);
    await cap.close();
  });
});
