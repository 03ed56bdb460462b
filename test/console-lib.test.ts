import { describe, expect, it } from 'vitest';
import {
  colorFor,
  detectionLabel,
  detectionRect,
  parsePrediction,
  pixelBoxRect,
  selectDetections,
  type Detection,
} from '../web/src/lib/boxes.js';
import {
  consolePathForS3,
  formatAgo,
  formatBytes,
  formatDuration,
  IDLE_AFTER_MS,
  isIdle,
  nameProblem,
  parseS3,
} from '../web/src/lib/format.js';
import {
  defaultHyperparameters,
  hyperparameterProblem,
  hyperparameterRowProblems,
  unknownHyperparameters,
} from '../web/src/lib/hyperparameters.js';
import {
  builtInTask,
  chainDefaults,
  chainedTask,
  labelAttributeName,
  labelCategoryConfig,
  labelProblems,
} from '../web/src/lib/labeling-form.js';
import { matchPath } from '../web/src/lib/match-path.js';
import { channelProblems, toChannel } from '../web/src/lib/training-form.js';
import { rangeProblems, recommendedRanges, toParameterRanges } from '../web/src/lib/tuning-form.js';

const det = (classId: number, score: number, box = [0.1, 0.2, 0.5, 0.6]): Detection => ({
  classId,
  score,
  xmin: box[0]!,
  ymin: box[1]!,
  xmax: box[2]!,
  ymax: box[3]!,
});

describe('console box logic', () => {
  it("parses the built-in detector's answer and names what is wrong with a bad one", () => {
    expect(parsePrediction({ prediction: [[0, 0.9, 0.1, 0.2, 0.5, 0.6]] })).toEqual([det(0, 0.9)]);
    expect(parsePrediction({ prediction: [] })).toEqual([]);
    expect(() => parsePrediction({ predictions: [] })).toThrow(
      'The endpoint did not answer {"prediction": [[class_id, score, xmin, ymin, xmax, ymax], ...]}',
    );
    expect(() => parsePrediction({ prediction: [[0, 0.9, 0.1]] })).toThrow(
      'prediction[0] is not [class_id, score, xmin, ymin, xmax, ymax]',
    );
    expect(() => parsePrediction({ prediction: [[0, 'x', 0, 0, 1, 1]] })).toThrow('prediction[0]');
  });

  it('keeps detections at or above the threshold, best first, at most N; ties keep their order', () => {
    const dets = [det(1, 0.2), det(0, 0.9), det(2, 0.5), det(3, 0.5), det(4, 0.1)];
    expect(selectDetections(dets, { threshold: 0.5 }).map((d) => d.classId)).toEqual([0, 2, 3]);
    expect(selectDetections(dets, { threshold: 0, bestN: 2 }).map((d) => d.classId)).toEqual([
      0, 2,
    ]);
    expect(selectDetections(dets, { threshold: 0, bestN: 0 })).toHaveLength(5);
    expect(selectDetections(dets, { threshold: 0.95 })).toEqual([]);
    expect(selectDetections([], { threshold: 0, bestN: 3 })).toEqual([]);
  });

  it('scales normalized detections and Ground Truth pixels onto the displayed image', () => {
    expect(detectionRect(det(0, 1, [0.25, 0.25, 0.75, 0.75]), 400, 200)).toEqual({
      x: 100,
      y: 50,
      w: 200,
      h: 100,
    });
    // Swapped and out-of-range corners are normalized and clamped to the image.
    expect(detectionRect(det(0, 1, [0.75, 1.2, -0.1, 0.5]), 100, 100)).toEqual({
      x: 0,
      y: 50,
      w: 75,
      h: 50,
    });
    expect(
      pixelBoxRect(
        { classId: 0, left: 20, top: 10, width: 40, height: 30 },
        { width: 128, height: 96 },
        512,
        384,
      ),
    ).toEqual({ x: 80, y: 40, w: 160, h: 120 });
  });

  it('labels boxes with class names and scores, and colours classes stably', () => {
    expect(detectionLabel({ classId: 0, score: 0.876 }, { '0': 'bee' })).toBe('bee 0.88');
    expect(detectionLabel({ classId: 3, score: 0.5 }, ['a'])).toBe('class 3 0.50');
    expect(detectionLabel({ classId: 0, confidence: 0.9 }, ['bee'])).toBe('bee 0.90');
    expect(detectionLabel({ classId: 2 })).toBe('class 2');
    expect(colorFor(0)).toBe('#ff9900');
    expect(colorFor(9)).toBe(colorFor(0));
    expect(colorFor(-1)).toBe(colorFor(1));
  });
});

describe('console built-in hyperparameters (spec §4.1)', () => {
  it('starts the form with the common hyperparameters and their defaults', () => {
    const rows = defaultHyperparameters();
    expect(rows.map((r) => r.key)).toEqual([
      'num_classes',
      'num_training_samples',
      'base_network',
      'epochs',
      'learning_rate',
      'mini_batch_size',
      'optimizer',
      'image_shape',
    ]);
    expect(rows.find((r) => r.key === 'learning_rate')!.value).toBe('0.001');
  });

  it('explains bad values with the allowed range', () => {
    expect(hyperparameterProblem('num_classes', '')).toBe(
      'num_classes is required: an integer >= 1.',
    );
    expect(hyperparameterProblem('epochs', '0')).toBe('Expected an integer >= 1; got 0.');
    expect(hyperparameterProblem('epochs', '2.5')).toBe("Expected an integer >= 1; got '2.5'.");
    expect(hyperparameterProblem('learning_rate', '0')).toBe('Expected a number in (0, 1]; got 0.');
    expect(hyperparameterProblem('learning_rate', '1')).toBeUndefined();
    expect(hyperparameterProblem('lr_scheduler_factor', '1')).toBe(
      'Expected a number in (0, 1); got 1.',
    );
    expect(hyperparameterProblem('optimizer', 'adamw')).toBe(
      "Expected one of sgd, adam, rmsprop, adadelta; got 'adamw'.",
    );
    expect(hyperparameterProblem('image_shape', '32')).toBe(
      'Expected an integer from 64 to 2048; got 32.',
    );
    expect(hyperparameterProblem('lr_scheduler_step', '20,10')).toMatch(
      /^Expected increasing epoch numbers/,
    );
    expect(hyperparameterProblem('lr_scheduler_step', '10, 20')).toBeUndefined();
    expect(hyperparameterProblem('early_stopping', 'yes')).toBe(
      "Expected True or False; got 'yes'.",
    );
    expect(hyperparameterProblem('freeze_layer_pattern', '(')).toBe(
      "Expected a valid regular expression; got '('.",
    );
    expect(hyperparameterProblem('anything_else', 'x')).toBeUndefined();
  });

  it('checks a whole form: unknown names, duplicates and missing required ones', () => {
    expect(
      unknownHyperparameters(['epochs', 'bogus', '_tuning_objective_metric', 'sagemaker_program']),
    ).toEqual(['bogus']);
    const problems = hyperparameterRowProblems(
      [
        { key: 'num_classes', value: '1' },
        { key: 'epochs', value: 'ten' },
        { key: 'epochs', value: '3' },
        { key: 'bogus', value: '1' },
        { key: '', value: '1' },
      ],
      true,
    );
    expect(Object.fromEntries(problems)).toEqual({
      '-1': 'num_training_samples is required by the built-in algorithm.',
      1: "Expected an integer >= 1; got 'ten'.",
      2: 'epochs appears twice.',
      3: 'bogus is not a hyperparameter of the built-in object-detection algorithm.',
      4: 'Enter a name.',
    });
    // A custom image takes any names.
    expect(hyperparameterRowProblems([{ key: 'bogus', value: '1' }], false).size).toBe(0);
  });
});

describe('console training channels, tuning ranges, labeling config', () => {
  it('checks channels as CreateTrainingJob does and builds the wire shape', () => {
    const row = {
      name: 'train',
      dataType: 'AugmentedManifestFile',
      uri: 's3://b/train.manifest',
      contentType: 'application/x-recordio',
      attributeNames: 'source-ref, bounding-box',
      recordWrapper: 'RecordIO',
    };
    expect(channelProblems([row], 'Pipe').size).toBe(0);
    expect(channelProblems([row], 'File').get(0)).toBe(
      'Augmented manifests are read in Pipe input mode.',
    );
    expect(channelProblems([row, row], 'Pipe').get(1)).toBe('Channel train appears twice.');
    expect(channelProblems([{ ...row, uri: '/local/path' }], 'Pipe').get(0)).toBe(
      'Enter an S3 URI such as s3://bucket/train/.',
    );
    expect(channelProblems([{ ...row, name: 'bad name' }], 'Pipe').get(0)).toMatch(
      /^Channel names use/,
    );
    expect(toChannel(row)).toEqual({
      ChannelName: 'train',
      DataSource: {
        S3DataSource: {
          S3DataType: 'AugmentedManifestFile',
          S3Uri: 's3://b/train.manifest',
          S3DataDistributionType: 'FullyReplicated',
          AttributeNames: ['source-ref', 'bounding-box'],
        },
      },
      ContentType: 'application/x-recordio',
      RecordWrapperType: 'RecordIO',
    });
  });

  it('checks tuning ranges and groups them as ParameterRanges', () => {
    expect(rangeProblems(recommendedRanges()).size).toBe(0);
    const problems = rangeProblems(
      [
        {
          name: 'learning_rate',
          type: 'Continuous',
          min: '0',
          max: '0.1',
          scaling: 'Logarithmic',
          values: '',
        },
        {
          name: 'mini_batch_size',
          type: 'Integer',
          min: '8.5',
          max: '32',
          scaling: 'Auto',
          values: '',
        },
        { name: 'epochs', type: 'Integer', min: '9', max: '3', scaling: 'Auto', values: '' },
        {
          name: 'optimizer',
          type: 'Categorical',
          min: '',
          max: '',
          scaling: 'Auto',
          values: 'sgd, sgd',
        },
        { name: 'num_classes', type: 'Integer', min: '1', max: '2', scaling: 'Auto', values: '' },
      ],
      ['num_classes'],
    );
    expect(Object.fromEntries(problems)).toEqual({
      0: 'Logarithmic scaling needs a minimum above 0.',
      1: 'Integer ranges need whole-number bounds.',
      2: 'The minimum (9) is greater than the maximum (3).',
      3: 'Values must be distinct.',
      4: 'num_classes is also a static hyperparameter; keep it in one place.',
    });
    expect(toParameterRanges(recommendedRanges())).toEqual({
      IntegerParameterRanges: [
        { Name: 'mini_batch_size', MinValue: '8', MaxValue: '32', ScalingType: 'Auto' },
      ],
      ContinuousParameterRanges: [
        { Name: 'learning_rate', MinValue: '0.0001', MaxValue: '0.1', ScalingType: 'Logarithmic' },
      ],
      CategoricalParameterRanges: [{ Name: 'optimizer', Values: ['sgd', 'adam'] }],
    });
  });

  it("names the label attribute after the job, as SageMaker's console does, until the user types one", () => {
    expect(labelAttributeName('bees-label', undefined)).toBe('bees-label');
    expect(labelAttributeName('bees-label', 'boxes')).toBe('boxes');
    expect(labelAttributeName('bees-label', '')).toBe('');
  });

  it('writes the label category file with instructions and escapes HTML', () => {
    expect(labelProblems([])).toBe('Add at least one label.');
    expect(labelProblems(['bee', 'bee '])).toBe("Label 'bee' appears twice.");
    expect(labelProblems(['bee', ''])).toBe('Label 2 is empty.');
    expect(labelProblems(Array.from({ length: 51 }, (_, i) => `l${i}`))).toBe(
      'A bounding-box job takes at most 50 labels; this one has 51.',
    );
    expect(labelProblems(['bee'], 'bounding-box')).toBeUndefined();
    expect(labelProblems(['bee'], 'image-classification')).toBe(
      'An image classification job needs at least 2 labels.',
    );
    expect(labelProblems(['bee', 'wasp'], 'image-classification-multilabel')).toBeUndefined();
    const config = JSON.parse(
      labelCategoryConfig([' bee ', 'wasp'], {
        short: 'Box <every> bee.',
        good: 'Tight.',
        bad: '',
        full: 'Line 1\nLine 2',
      }),
    );
    expect(config).toEqual({
      'document-version': '2018-11-28',
      labels: [{ label: 'bee' }, { label: 'wasp' }],
      instructions: {
        shortInstruction: '<p>Box &lt;every&gt; bee.</p><h3>Good example</h3><p>Tight.</p>',
        fullInstruction: '<p>Line 1<br>Line 2</p>',
      },
    });
    expect(builtInTask('bounding-box', 'eu-west-1').PreHumanTaskLambdaArn).toBe(
      'arn:aws:lambda:eu-west-1:432418664414:function:PRE-BoundingBox',
    );
    expect(builtInTask('image-classification', 'us-east-1')).toEqual({
      PreHumanTaskLambdaArn: 'arn:aws:lambda:us-east-1:432418664414:function:PRE-ImageMultiClass',
      AnnotationConsolidationConfig: {
        AnnotationConsolidationLambdaArn:
          'arn:aws:lambda:us-east-1:432418664414:function:ACS-ImageMultiClass',
      },
      UiConfig: {
        HumanTaskUiArn: 'arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/ImageMultiClass',
      },
    });
    expect(
      builtInTask('image-classification-multilabel', 'us-east-1').UiConfig.HumanTaskUiArn,
    ).toMatch(/human-task-ui\/ImageMultiClassMultiLabel$/);
  });

  it('prefills a chained adjustment / verification job from a finished box job', () => {
    const source = {
      name: 'bees',
      attribute: 'bee-boxes',
      outputUri: 's3://b/out/bees/manifests/output/output.manifest',
      labels: ['bee', 'drone'],
    };
    expect(chainDefaults(source, 'adjustment')).toMatchObject({
      name: 'bees-adjusted',
      attribute: 'bee-boxes-adjusted',
      manifest: source.outputUri,
      audit: 'bee-boxes',
      labels: ['bee', 'drone'],
    });
    expect(chainDefaults(source, 'verification').labels).toEqual(['Correct', 'Incorrect']);
    expect(chainedTask('verification', 'eu-west-1')).toEqual({
      PreHumanTaskLambdaArn:
        'arn:aws:lambda:eu-west-1:432418664414:function:PRE-VerificationBoundingBox',
      AnnotationConsolidationConfig: {
        AnnotationConsolidationLambdaArn:
          'arn:aws:lambda:eu-west-1:432418664414:function:ACS-VerificationBoundingBox',
      },
      UiConfig: {
        HumanTaskUiArn: 'arn:aws:sagemaker:eu-west-1:394669845002:human-task-ui/BoundingBox',
      },
    });
    const cfg = JSON.parse(
      labelCategoryConfig(['bee'], { short: '', good: '', bad: '', full: '' }, 'bee-boxes'),
    );
    expect(cfg.auditLabelAttributeName).toBe('bee-boxes');
    expect(
      JSON.parse(labelCategoryConfig(['bee'], { short: '', good: '', bad: '', full: '' }))
        .auditLabelAttributeName,
    ).toBeUndefined();
  });
});

describe('console formatting and routing', () => {
  it('validates SageMaker names and formats sizes and durations', () => {
    expect(nameProblem('ok-name-1')).toBeUndefined();
    expect(nameProblem('a'.repeat(63))).toBeUndefined();
    expect(nameProblem('a'.repeat(64))).toBe('Use at most 63 characters (this one has 64).');
    expect(nameProblem('-x')).toMatch(/^Use letters, digits and hyphens/);
    expect(nameProblem('')).toBe('Enter a name.');
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(10 * 1024 * 1024)).toBe('10 MB');
    expect(formatDuration(3725)).toBe('1h 2m 5s');
    expect(formatDuration(59.6)).toBe('1m 0s');
  });

  it('says how long ago an endpoint was invoked and whether it is idle', () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    expect(formatAgo(undefined, now)).toBe('never');
    expect(formatAgo('not a time', now)).toBe('never');
    expect(formatAgo('2026-11-25T11:59:30Z', now)).toBe('just now');
    expect(formatAgo('2026-11-25T11:45:00Z', now)).toBe('15 min ago');
    expect(formatAgo('2026-11-25T09:00:00Z', now)).toBe('3 h ago');
    expect(formatAgo('2026-11-24T11:00:00Z', now)).toBe('1 day ago');
    expect(formatAgo('2026-11-20T12:00:00Z', now)).toBe('5 days ago');
    // Invoked 14 minutes ago: busy; 15: idle. Never invoked: idle once it has served 15 minutes.
    expect(isIdle('2026-11-25T11:46:00Z', 0, now)).toBe(false);
    expect(isIdle('2026-11-25T11:45:00Z', 0, now)).toBe(true);
    expect(isIdle(undefined, now - IDLE_AFTER_MS + 1000, now)).toBe(false);
    expect(isIdle(undefined, now - IDLE_AFTER_MS, now)).toBe(true);
  });

  it('links S3 URIs to the data pages', () => {
    expect(parseS3('s3://bees')).toEqual({ bucket: 'bees', key: '' });
    expect(parseS3('http://x')).toBeUndefined();
    expect(consolePathForS3('s3://bees/in put/')).toBe('/data/bees?prefix=in%20put%2F');
    expect(consolePathForS3('s3://bees/a/b.jpg')).toBe('/data/bees/preview?key=a%2Fb.jpg');
    expect(consolePathForS3('s3://bees')).toBe('/data/bees');
  });

  it('matches routes and decodes parameters; a malformed escape matches nothing', () => {
    expect(matchPath('/training-jobs/:name', '/training-jobs/my%20job')).toEqual({
      name: 'my job',
    });
    expect(matchPath('/training-jobs/:name', '/training-jobs')).toBeUndefined();
    expect(matchPath('/training-jobs/:name', '/training-jobs/a/b')).toBeUndefined();
    expect(matchPath('/', '/')).toEqual({});
    expect(matchPath('/data/:bucket/preview', '/data/bees/preview')).toEqual({ bucket: 'bees' });
    expect(matchPath('/x/*', '/x/a/b')).toEqual({ '*': 'a/b' });
    expect(matchPath('/models/:name', '/models/%E0%A4%A')).toBeUndefined();
  });
});
