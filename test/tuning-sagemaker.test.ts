import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * The tutorial's tuning step through boto3 against a real server: a Bayesian search over
 * learning_rate (log), mini_batch_size (categorical), momentum and optimizer on the built-in bee
 * detector, objective validation:mAP Maximize, three tiny jobs (64 px, one epoch, Pipe-mode
 * augmented manifests as the tutorial feeds them); then the best job's model is deployed and invoked.
 */
const run = promisify(execFile);
let server: TestServer;
let bees: string;

const python = (script: string, timeout = 60_000) =>
  run('python3', ['-c', script], {
    env: { ...server.env, BEES: bees },
    timeout,
    maxBuffer: 16 * 1024 * 1024,
  }).then((r) => JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, any>);

const PRELUDE = String.raw`
import boto3, botocore, json, os, time, glob
sm = boto3.client('sagemaker')
s3 = boto3.client('s3')
IMAGE = '811284229777.dkr.ecr.us-east-1.amazonaws.com/object-detection:1'
def channel(name, key):
    return {'ChannelName': name, 'DataSource': {'S3DataSource': {'S3DataType': 'AugmentedManifestFile', 'S3Uri': 's3://bees/manifests/' + key,
            'S3DataDistributionType': 'FullyReplicated', 'AttributeNames': ['source-ref', 'bounding-box']}},
            'ContentType': 'application/x-recordio', 'RecordWrapperType': 'RecordIO', 'CompressionType': 'None'}
def tuning_request(name, config_overrides=None, statics=None):
    config = {
        'Strategy': 'Bayesian',
        'HyperParameterTuningJobObjective': {'Type': 'Maximize', 'MetricName': 'validation:mAP'},
        'ResourceLimits': {'MaxNumberOfTrainingJobs': 3, 'MaxParallelTrainingJobs': 1},
        'ParameterRanges': {
            'ContinuousParameterRanges': [
                {'Name': 'learning_rate', 'MinValue': '0.0001', 'MaxValue': '0.1', 'ScalingType': 'Logarithmic'},
                {'Name': 'momentum', 'MinValue': '0.0', 'MaxValue': '0.999', 'ScalingType': 'Auto'},
            ],
            'CategoricalParameterRanges': [
                {'Name': 'mini_batch_size', 'Values': ['2', '4']},
                {'Name': 'optimizer', 'Values': ['sgd', 'adam']},
            ],
        },
        'TrainingJobEarlyStoppingType': 'Off',
        'RandomSeed': 3,
    }
    config.update(config_overrides or {})
    return dict(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig=config,
        TrainingJobDefinition={
            'StaticHyperParameters': statics if statics is not None else {'num_classes': '1', 'num_training_samples': '5', 'epochs': '1', 'image_shape': '64',
                                      'base_network': 'mobilenet-v3', 'use_pretrained_model': '0'},
            'AlgorithmSpecification': {'TrainingImage': IMAGE, 'TrainingInputMode': 'Pipe'},
            'RoleArn': 'arn:aws:iam::000000000000:role/SageMakerRole',
            'InputDataConfig': [channel('train', 'train.manifest'), channel('validation', 'validation.manifest')],
            'OutputDataConfig': {'S3OutputPath': 's3://bees/tuning-output'},
            'ResourceConfig': {'InstanceType': 'ml.m5.large', 'InstanceCount': 1, 'VolumeSizeInGB': 1},
            'StoppingCondition': {'MaxRuntimeInSeconds': 600},
        },
    )
def error_of(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return {'code': e.response['Error']['Code'], 'message': e.response['Error']['Message']}
    return None
`;

beforeAll(async () => {
  server = await startTestServer();
  bees = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-bees-'));
  await run(
    '.venv/bin/python',
    [
      '-m',
      'apiary_od.synthetic',
      '--out',
      bees,
      '--n',
      '8',
      '--test',
      '0',
      '--seed',
      '0',
      '--size',
      '64',
      '--bucket-uri',
      's3://bees/data/',
      '--validation',
      '3',
      '--layout',
      'manifest',
    ],
    {
      timeout: 60_000,
    },
  );
  await python(
    PRELUDE +
      String.raw`
s3.create_bucket(Bucket='bees')
for f in glob.glob(os.environ['BEES'] + '/images/*.jpg'):
    s3.upload_file(f, 'bees', 'data/' + os.path.basename(f))
for m in ('train.manifest', 'validation.manifest'):
    s3.upload_file(os.path.join(os.environ['BEES'], m), 'bees', 'manifests/' + m)
print(json.dumps({'ok': True}))
`,
  );
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (bees) fs.rmSync(bees, { recursive: true, force: true });
});

describe('hyperparameter tuning through boto3', () => {
  it('runs the tutorial Bayesian search on the bee detector, names the best job, and its model deploys', async () => {
    const r = await python(
      PRELUDE +
        String.raw`
arn = sm.create_hyper_parameter_tuning_job(**tuning_request('bees-tuning'))['HyperParameterTuningJobArn']
deadline = time.time() + 540
while True:
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName='bees-tuning')
    if d['HyperParameterTuningJobStatus'] not in ('InProgress', 'Stopping') or time.time() > deadline:
        break
    time.sleep(0.5)
jobs = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName='bees-tuning',
        SortBy='FinalObjectiveMetricValue', SortOrder='Descending')['TrainingJobSummaries']
best = d['BestTrainingJob']
child = sm.describe_training_job(TrainingJobName=best['TrainingJobName'])
listed = sm.list_hyper_parameter_tuning_jobs(NameContains='bees-tun')['HyperParameterTuningJobSummaries']
sm.create_model(ModelName='best-bees', PrimaryContainer={'Image': IMAGE, 'ModelDataUrl': child['ModelArtifacts']['S3ModelArtifacts']},
                ExecutionRoleArn='arn:aws:iam::000000000000:role/SageMakerRole')
sm.create_endpoint_config(EndpointConfigName='best-bees-config', ProductionVariants=[{'VariantName': 'AllTraffic', 'ModelName': 'best-bees',
                          'InitialInstanceCount': 1, 'InstanceType': 'ml.m5.large', 'InitialVariantWeight': 1.0}])
sm.create_endpoint(EndpointName='best-bees', EndpointConfigName='best-bees-config')
sm.get_waiter('endpoint_in_service').wait(EndpointName='best-bees', WaiterConfig={'Delay': 1, 'MaxAttempts': 120})
with open(sorted(glob.glob(os.environ['BEES'] + '/images/*.jpg'))[0], 'rb') as f:
    out = boto3.client('sagemaker-runtime').invoke_endpoint(EndpointName='best-bees', ContentType='image/jpeg', Body=f.read())
prediction = json.loads(out['Body'].read())['prediction']
print(json.dumps({'arn': arn, 'describe': d, 'jobs': jobs, 'child': child, 'listed': listed, 'prediction_len': len(prediction),
                  'row': prediction[0] if prediction else None}, default=str))
`,
      600_000,
    );
    const d = r['describe'];
    expect(r['arn']).toBe(
      'arn:aws:sagemaker:us-east-1:000000000000:hyper-parameter-tuning-job/bees-tuning',
    );
    expect(d.FailureReason).toBeUndefined();
    expect(d.HyperParameterTuningJobStatus).toBe('Completed');
    expect(d.TrainingJobStatusCounters).toEqual({
      Completed: 3,
      InProgress: 0,
      RetryableError: 0,
      NonRetryableError: 0,
      Stopped: 0,
    });
    expect(d.ObjectiveStatusCounters).toEqual({ Succeeded: 3, Pending: 0, Failed: 0 });
    expect(d.HyperParameterTuningJobConfig.Strategy).toBe('Bayesian');
    expect(d.HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[0]).toEqual({
      Name: 'learning_rate',
      MinValue: '0.0001',
      MaxValue: '0.1',
      ScalingType: 'Logarithmic',
    });
    const best = d.BestTrainingJob;
    expect(best.TrainingJobName).toMatch(/^bees-tuning-00[1-3]-[0-9a-f]{8}$/);
    expect(best.TrainingJobStatus).toBe('Completed');
    expect(best.ObjectiveStatus).toBe('Succeeded');
    expect(Object.keys(best.TunedHyperParameters).sort()).toEqual([
      'learning_rate',
      'mini_batch_size',
      'momentum',
      'optimizer',
    ]);
    expect(best.FinalHyperParameterTuningJobObjectiveMetric).toMatchObject({
      Type: 'Maximize',
      MetricName: 'validation:mAP',
    });
    const values = r['jobs'].map((j: any) => j.FinalHyperParameterTuningJobObjectiveMetric.Value);
    expect(values).toEqual([...values].sort((a: number, b: number) => b - a));
    // Tiny jobs often tie (mAP 0 after one epoch): the best is one of the jobs with the top value.
    expect(best.FinalHyperParameterTuningJobObjectiveMetric.Value).toBe(values[0]);
    expect(
      r['jobs']
        .filter((j: any) => j.FinalHyperParameterTuningJobObjectiveMetric.Value === values[0])
        .map((j: any) => j.TrainingJobName),
    ).toContain(best.TrainingJobName);
    // The child is an ordinary training job that knows its tuning job.
    expect(r['child'].TuningJobArn).toBe(r['arn']);
    expect(r['child'].HyperParameters._tuning_objective_metric).toBe('validation:mAP');
    expect(r['child'].HyperParameters.learning_rate).toBe(best.TunedHyperParameters.learning_rate);
    expect(
      r['listed'].map((s: any) => [
        s.HyperParameterTuningJobName,
        s.Strategy,
        s.HyperParameterTuningJobStatus,
      ]),
    ).toEqual([['bees-tuning', 'Bayesian', 'Completed']]);
    expect(r['prediction_len']).toBeGreaterThan(0);
    expect(r['row']).toHaveLength(6);
    // Real trainings: three one-epoch 64-px jobs take about a minute on an idle 2-core machine.
  }, 620_000);

  it('answers bad requests and unknown jobs as SageMaker does', async () => {
    const r = await python(
      PRELUDE +
        String.raw`
out = {}
out['grid'] = error_of(lambda: sm.create_hyper_parameter_tuning_job(**tuning_request('bad-grid', {'Strategy': 'Grid'})))
out['hyperband'] = error_of(lambda: sm.create_hyper_parameter_tuning_job(**tuning_request('bad-hb', {'Strategy': 'Hyperband', 'TrainingJobEarlyStoppingType': 'Auto'})))
out['epochs'] = error_of(lambda: sm.create_hyper_parameter_tuning_job(**tuning_request('bad-hb2', {'Strategy': 'Hyperband'}, {'num_classes': '1'})))
out['metric'] = error_of(lambda: sm.create_hyper_parameter_tuning_job(**tuning_request('bad-metric', {'HyperParameterTuningJobObjective': {'Type': 'Minimize', 'MetricName': 'train:cross_entropy'}})))
out['scaling'] = error_of(lambda: sm.create_hyper_parameter_tuning_job(**tuning_request('bad-scale', {'ParameterRanges': {'IntegerParameterRanges': [{'Name': 'mini_batch_size', 'MinValue': '2', 'MaxValue': '8', 'ScalingType': 'ReverseLogarithmic'}]}})))
out['enum'] = error_of(lambda: sm.create_hyper_parameter_tuning_job(**tuning_request('bad-enum', {'Strategy': 'Annealing'})))
out['describe'] = error_of(lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName='nope'))
out['stop'] = error_of(lambda: sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName='nope'))
out['list'] = error_of(lambda: sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName='nope'))
print(json.dumps(out))
`,
    );
    expect(r['grid']).toEqual({
      code: 'ValidationException',
      message:
        'The Grid strategy searches categorical ranges only; turn the integer and continuous ranges into CategoricalParameterRanges or use another strategy',
    });
    expect(r['hyperband'].message).toBe(
      'The Hyperband strategy stops under-performing training jobs itself: TrainingJobEarlyStoppingType must be Off',
    );
    expect(r['epochs'].message).toMatch(
      /^Hyperband needs MaxResource: set StrategyConfig.HyperbandStrategyConfig.MaxResource or a static hyperparameter epochs/,
    );
    expect(r['metric']).toEqual({
      code: 'ValidationException',
      message:
        "The objective metric 'train:cross_entropy' is not a tunable metric of the object-detection algorithm; use 'validation:mAP' (Maximize)",
    });
    expect(r['scaling'].message).toBe(
      "IntegerParameterRange 'mini_batch_size': ReverseLogarithmic scaling is only for continuous ranges",
    );
    expect(r['enum'].code).toBe('ValidationException');
    expect(r['enum'].message).toMatch(/Member must satisfy enum value set/);
    for (const k of ['describe', 'stop', 'list']) {
      expect(r[k]).toEqual({
        code: 'ResourceNotFound',
        message: "Amazon SageMaker can't find a tuning job with name nope",
      });
    }
  });
});
