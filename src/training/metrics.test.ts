import { describe, expect, it } from 'vitest';
import { MetricExtractor, mergeMetricDefinitions, OBJECT_DETECTION_METRICS } from './metrics.js';
import { readRecordio, recordioFrame, RECORDIO_MAGIC } from './recordio.js';
import { safeRelativePath } from './channels.js';
import { userArgs, decodeHyperparameter } from './job-env.js';
import { resolveImage } from './images.js';
import { specFromRequest } from './spec.js';

describe('metric extraction', () => {
  it("matches the built-in object-detection lines with SageMaker's exact regexes", () => {
    const x = new MetricExtractor(OBJECT_DETECTION_METRICS);
    const lines = [
      '#quality_metric: host=algo-1, epoch=3, batch=40 train cross_entropy <loss>=1.234',
      '#quality_metric: host=algo-1, epoch=3, batch=40 train smooth_l1 <loss>=0.5',
      '#throughput_metric: host=algo-1, train throughput=12.5 records/second',
      '#quality_metric: host=algo-1, epoch=3, validation mAP <score>=(0.6123)',
      '#progress_metric: host=algo-1, completed 40 %',
      'nothing here',
    ];
    expect(lines.flatMap((l) => x.extract(l, 7))).toEqual([
      { metricName: 'train:cross_entropy', value: 1.234, timestampMs: 7 },
      { metricName: 'train:smooth_l1', value: 0.5, timestampMs: 7 },
      { metricName: 'train:throughput', value: 12.5, timestampMs: 7 },
      { metricName: 'validation:mAP', value: 0.6123, timestampMs: 7 },
      { metricName: 'train:progress', value: 40, timestampMs: 7 },
    ]);
  });

  it('takes the first group (Python named groups too), ignores non-numbers, lets users override built-ins', () => {
    const defs = mergeMetricDefinitions(OBJECT_DETECTION_METRICS, [
      { name: 'validation:mAP', regex: 'mAP=(?P<v>\\S+)' },
      { name: 'nan', regex: 'v=(\\S+)' },
    ]);
    const x = new MetricExtractor(defs);
    expect(x.extract('mAP=0.9 v=nan', 1)).toEqual([
      { metricName: 'validation:mAP', value: 0.9, timestampMs: 1 },
    ]);
    expect(defs.filter((d) => d.name === 'validation:mAP')).toHaveLength(1);
  });
});

describe('RecordIO framing', () => {
  it('writes magic, length and 4-byte padding and reads it back', () => {
    const framed = Buffer.concat([
      ...recordioFrame(Buffer.from('abcde')),
      ...recordioFrame(Buffer.alloc(0)),
      ...recordioFrame(Buffer.from('wxyz')),
    ]);
    expect(framed.readUInt32LE(0)).toBe(RECORDIO_MAGIC);
    expect(framed.readUInt32LE(4)).toBe(5);
    expect(framed.length).toBe(8 + 8 + 8 + 8 + 4);
    expect(readRecordio(framed).map((b) => b.toString())).toEqual(['abcde', '', 'wxyz']);
  });
});

describe('inputs that must never become paths or shell code', () => {
  it('refuses keys that would escape the channel folder', () => {
    expect(safeRelativePath('images/a.jpg')).toBe('images/a.jpg');
    expect(safeRelativePath('//images///a.jpg')).toBe('images/a.jpg');
    expect(safeRelativePath('images/../../etc/passwd')).toBeUndefined();
    expect(safeRelativePath('./a')).toBeUndefined();
    expect(safeRelativePath('')).toBeUndefined();
  });

  it('passes hyperparameters as argv values, decoded like the SageMaker toolkit does', () => {
    expect(
      userArgs({
        epochs: '3',
        note: '"; id"',
        raw: '$(id)',
        flag: 'true',
        sagemaker_program: '"train.py"',
      }),
    ).toEqual(['--epochs', '3', '--note', '; id', '--raw', '$(id)', '--flag', 'True']);
    expect(decodeHyperparameter('{"a":1}')).toEqual({ a: 1 });
  });
});

describe('images and request checks', () => {
  it('maps SageMaker image names to what runs locally', () => {
    expect(
      resolveImage('811284229777.dkr.ecr.us-east-1.amazonaws.com/object-detection:1', []),
    ).toEqual({ kind: 'object-detection' });
    expect(resolveImage('object-detection', [])).toEqual({ kind: 'object-detection' });
    expect(
      resolveImage(
        '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.13.1-cpu-py39',
        [],
      ),
    ).toEqual({ kind: 'pytorch' });
    expect(resolveImage('my-algo:1', [{ image: 'my-algo:1', command: ['x'] }])).toEqual({
      kind: 'registered',
      command: ['x'],
    });
    expect(resolveImage('not-object-detection:1', [])).toBeUndefined();
  });

  it('keeps checkpoints under /opt/ml and channel names unique', () => {
    const base = {
      TrainingJobName: 'j',
      AlgorithmSpecification: { TrainingImage: 'object-detection' },
      OutputDataConfig: { S3OutputPath: 's3://b/o' },
    };
    expect(() =>
      specFromRequest({ ...base, CheckpointConfig: { S3Uri: 's3://b/c', LocalPath: '/etc' } }),
    ).toThrow(/LocalPath '\/etc'/);
    expect(() =>
      specFromRequest({
        ...base,
        CheckpointConfig: { S3Uri: 's3://b/c', LocalPath: '/opt/ml/../x' },
      }),
    ).toThrow(/LocalPath/);
    expect(
      specFromRequest({ ...base, CheckpointConfig: { S3Uri: 's3://b/c' } }).checkpoint?.localPath,
    ).toBe('/opt/ml/checkpoints');
    const ch = {
      ChannelName: 'train',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://b/t' } },
    };
    expect(() => specFromRequest({ ...base, InputDataConfig: [ch, ch] })).toThrow(/unique/);
  });
});
