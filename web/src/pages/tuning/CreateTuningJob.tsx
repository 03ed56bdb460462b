import { useMemo, useState } from 'react';
import AttributeEditor from '@cloudscape-design/components/attribute-editor';
import ColumnLayout from '@cloudscape-design/components/column-layout';
import Container from '@cloudscape-design/components/container';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { sagemaker } from '../../app/api.js';
import type { PageProps } from '../../app/router.js';
import { useSubmit } from '../../app/useSubmit.js';
import AlgorithmFields, {
  type AlgorithmSource,
  type MetricRow,
} from '../../components/AlgorithmFields.js';
import ChannelsEditor from '../../components/ChannelsEditor.js';
import FormPage from '../../components/FormPage.js';
import KeyValueEditor, { type KeyValueRow } from '../../components/KeyValueEditor.js';
import {
  DEFAULT_ROLE_ARN,
  OBJECT_DETECTION_IMAGE,
  TRAINING_INSTANCE_TYPES,
} from '../../lib/constants.js';
import { nameProblem, parseS3 } from '../../lib/format.js';
import { hyperparameterRowProblems } from '../../lib/hyperparameters.js';
import {
  channelProblems,
  manifestChannel,
  toChannel,
  type ChannelRow,
} from '../../lib/training-form.js';
import {
  rangeProblems,
  recommendedRanges,
  toParameterRanges,
  type RangeRow,
} from '../../lib/tuning-form.js';

const opt = (v: string) => ({ label: v, value: v });

export default function CreateTuningJob({ query }: PageProps) {
  const form = useSubmit();
  const [name, setName] = useState('');
  const [strategy, setStrategy] = useState('Bayesian');
  const [metric, setMetric] = useState('validation:mAP');
  const [objective, setObjective] = useState('Maximize');
  const [maxJobs, setMaxJobs] = useState('4');
  const [parallel, setParallel] = useState('1');
  const [earlyStopping, setEarlyStopping] = useState('Off');
  const [ranges, setRanges] = useState<RangeRow[]>(recommendedRanges);
  const [statics, setStatics] = useState<KeyValueRow[]>([
    { key: 'num_classes', value: '1' },
    { key: 'num_training_samples', value: '' },
    { key: 'epochs', value: '10' },
    { key: 'image_shape', value: '300' },
  ]);
  const [channels, setChannels] = useState<ChannelRow[]>(() =>
    ['train', 'validation'].map((c) => manifestChannel(c, query.get(c) ?? '')),
  );
  const [output, setOutput] = useState('');
  const [algorithm, setAlgorithm] = useState<AlgorithmSource>('builtin');
  const [image, setImage] = useState('');
  const [inputMode, setInputMode] = useState('Pipe');
  const [metrics, setMetrics] = useState<MetricRow[]>([]);
  const [instanceType, setInstanceType] = useState('ml.m5.xlarge');
  const [maxRuntime, setMaxRuntime] = useState('3600');

  const staticNames = statics.map((s) => s.key.trim());
  const staticKey = staticNames.join(',');
  const rProblems = useMemo(() => rangeProblems(ranges, staticNames), [ranges, staticKey]); // eslint-disable-line react-hooks/exhaustive-deps
  // Static rows are checked like the training form's, but tuned names may be absent from them.
  const builtIn = algorithm === 'builtin';
  const sProblems = useMemo(() => {
    const p = hyperparameterRowProblems(statics, builtIn);
    p.delete(-1);
    return p;
  }, [statics, builtIn]);
  const cProblems = useMemo(() => channelProblems(channels, inputMode), [channels, inputMode]);
  const problems = {
    name: nameProblem(name, 32),
    maxJobs:
      /^\d+$/.test(maxJobs) && Number(maxJobs) >= 1 && Number(maxJobs) <= 500
        ? undefined
        : 'Enter 1 to 500 training jobs.',
    parallel:
      /^\d+$/.test(parallel) && Number(parallel) >= 1 && Number(parallel) <= Number(maxJobs || 1)
        ? undefined
        : 'Enter at least 1 and at most the number of training jobs.',
    metric: metric.trim() ? undefined : 'Enter the objective metric.',
    output: parseS3(output) ? undefined : 'Enter an S3 URI such as s3://bucket/tuning/.',
    maxRuntime:
      /^\d+$/.test(maxRuntime) && Number(maxRuntime) >= 1
        ? undefined
        : 'Enter seconds, at least 1.',
    ranges: ranges.length === 0 ? 'Add at least one range.' : undefined,
    image: !builtIn && image.trim() === '' ? 'Enter the training image.' : undefined,
    metrics:
      !builtIn && !metrics.some((m) => m.name.trim() === metric.trim())
        ? `Define the objective metric ${metric.trim() || '(name)'} with a regular expression over the log.`
        : metrics.some((m) => !m.name.trim() || !m.regex.trim())
          ? 'Every metric needs a name and a regular expression.'
          : undefined,
  };
  const show = form.show;

  const submit = () =>
    form.submit({
      valid:
        !Object.values(problems).some(Boolean) &&
        !rProblems.size &&
        !sProblems.size &&
        !cProblems.size,
      invalidMessage: 'Fix the fields marked below.',
      send: () =>
        sagemaker('CreateHyperParameterTuningJob', {
          HyperParameterTuningJobName: name,
          HyperParameterTuningJobConfig: {
            Strategy: strategy,
            HyperParameterTuningJobObjective: { Type: objective, MetricName: metric.trim() },
            ResourceLimits: {
              MaxNumberOfTrainingJobs: Number(maxJobs),
              MaxParallelTrainingJobs: Number(parallel),
            },
            ParameterRanges: toParameterRanges(ranges),
            TrainingJobEarlyStoppingType: earlyStopping,
          },
          TrainingJobDefinition: {
            StaticHyperParameters: Object.fromEntries(
              statics.filter((s) => s.value.trim()).map((s) => [s.key.trim(), s.value.trim()]),
            ),
            AlgorithmSpecification: {
              TrainingImage: builtIn ? OBJECT_DETECTION_IMAGE : image.trim(),
              TrainingInputMode: inputMode,
              ...(!builtIn
                ? {
                    MetricDefinitions: metrics.map((m) => ({
                      Name: m.name.trim(),
                      Regex: m.regex,
                    })),
                  }
                : {}),
            },
            RoleArn: DEFAULT_ROLE_ARN,
            InputDataConfig: channels.map(toChannel),
            OutputDataConfig: { S3OutputPath: output.trim() },
            ResourceConfig: { InstanceType: instanceType, InstanceCount: 1, VolumeSizeInGB: 10 },
            StoppingCondition: { MaxRuntimeInSeconds: Number(maxRuntime) },
          },
        }),
      success: `Created tuning job ${name}.`,
      openPath: `/tuning-jobs/${encodeURIComponent(name)}`,
    });

  const setRange = (i: number, p: Partial<RangeRow>) =>
    setRanges(ranges.map((r, j) => (j === i ? { ...r, ...p } : r)));

  return (
    <FormPage
      title="Create hyperparameter tuning job"
      description="Train the built-in detector many times over ranges of hyperparameters and keep the best."
      submitLabel="Create tuning job"
      cancelPath="/tuning-jobs"
      busy={form.busy}
      error={form.error}
      onSubmit={() => void submit()}
    >
      <Container header={<Header variant="h2">Tuning job settings</Header>}>
        <SpaceBetween size="l">
          <FormField
            label="Tuning job name"
            description="Up to 32 letters, digits and hyphens."
            errorText={show(problems.name)}
          >
            <Input value={name} onChange={(e) => setName(e.detail.value)} ariaRequired />
          </FormField>
          <ColumnLayout columns={3}>
            <FormField label="Strategy">
              <Select
                selectedOption={opt(strategy)}
                options={['Bayesian', 'Random', 'Grid', 'Hyperband'].map(opt)}
                onChange={(e) => setStrategy(e.detail.selectedOption.value!)}
              />
            </FormField>
            <FormField label="Objective metric" errorText={show(problems.metric)}>
              <Input value={metric} onChange={(e) => setMetric(e.detail.value)} />
            </FormField>
            <FormField label="Objective">
              <Select
                selectedOption={opt(objective)}
                options={['Maximize', 'Minimize'].map(opt)}
                onChange={(e) => setObjective(e.detail.selectedOption.value!)}
              />
            </FormField>
            <FormField label="Maximum training jobs" errorText={show(problems.maxJobs)}>
              <Input type="number" value={maxJobs} onChange={(e) => setMaxJobs(e.detail.value)} />
            </FormField>
            <FormField label="Maximum parallel jobs" errorText={show(problems.parallel)}>
              <Input type="number" value={parallel} onChange={(e) => setParallel(e.detail.value)} />
            </FormField>
            <FormField label="Early stopping">
              <Select
                selectedOption={opt(earlyStopping)}
                options={['Off', 'Auto'].map(opt)}
                onChange={(e) => setEarlyStopping(e.detail.selectedOption.value!)}
              />
            </FormField>
          </ColumnLayout>
        </SpaceBetween>
      </Container>
      <Container
        header={
          <Header
            variant="h2"
            description="The search space: each training job picks one value from every range."
          >
            Hyperparameter ranges
          </Header>
        }
      >
        <SpaceBetween size="s">
          {show(problems.ranges)}
          <AttributeEditor
            items={ranges}
            addButtonText="Add range"
            removeButtonText="Remove"
            empty="No ranges."
            onAddButtonClick={() =>
              setRanges([
                ...ranges,
                { name: '', type: 'Continuous', min: '', max: '', scaling: 'Auto', values: '' },
              ])
            }
            onRemoveButtonClick={(e) =>
              setRanges(ranges.filter((_, i) => i !== e.detail.itemIndex))
            }
            definition={[
              {
                label: 'Hyperparameter',
                control: (r, i) => (
                  <Input
                    value={r.name}
                    ariaLabel={`Range ${i + 1} name`}
                    onChange={(e) => setRange(i, { name: e.detail.value })}
                  />
                ),
                errorText: (_r, i) => show(rProblems.get(i)),
              },
              {
                label: 'Type',
                control: (r, i) => (
                  <Select
                    ariaLabel={`Range ${i + 1} type`}
                    selectedOption={opt(r.type)}
                    options={['Continuous', 'Integer', 'Categorical'].map(opt)}
                    onChange={(e) =>
                      setRange(i, { type: e.detail.selectedOption.value as RangeRow['type'] })
                    }
                  />
                ),
              },
              {
                label: 'Minimum',
                control: (r, i) => (
                  <Input
                    value={r.min}
                    disabled={r.type === 'Categorical'}
                    ariaLabel={`Range ${i + 1} minimum`}
                    onChange={(e) => setRange(i, { min: e.detail.value })}
                  />
                ),
              },
              {
                label: 'Maximum',
                control: (r, i) => (
                  <Input
                    value={r.max}
                    disabled={r.type === 'Categorical'}
                    ariaLabel={`Range ${i + 1} maximum`}
                    onChange={(e) => setRange(i, { max: e.detail.value })}
                  />
                ),
              },
              {
                label: 'Scaling',
                control: (r, i) => (
                  <Select
                    ariaLabel={`Range ${i + 1} scaling`}
                    disabled={r.type === 'Categorical'}
                    selectedOption={opt(r.scaling)}
                    options={['Auto', 'Linear', 'Logarithmic', 'ReverseLogarithmic'].map(opt)}
                    onChange={(e) =>
                      setRange(i, { scaling: e.detail.selectedOption.value as RangeRow['scaling'] })
                    }
                  />
                ),
              },
              {
                label: 'Values',
                control: (r, i) => (
                  <Input
                    value={r.values}
                    disabled={r.type !== 'Categorical'}
                    ariaLabel={`Range ${i + 1} values`}
                    placeholder="sgd, adam"
                    onChange={(e) => setRange(i, { values: e.detail.value })}
                  />
                ),
              },
            ]}
          />
        </SpaceBetween>
      </Container>
      <Container
        header={
          <Header
            variant="h2"
            description={
              builtIn
                ? 'Fixed for every training job of the search.'
                : 'Fixed for every training job; passed in hyperparameters.json.'
            }
          >
            Static hyperparameters
          </Header>
        }
      >
        <KeyValueEditor
          rows={statics}
          onChange={setStatics}
          noun="Static hyperparameter"
          addButtonText="Add hyperparameter"
          empty="None."
          problem={(i) => show(sProblems.get(i))}
        />
      </Container>
      <Container header={<Header variant="h2">Training job definition</Header>}>
        <SpaceBetween size="l">
          <AlgorithmFields
            kind="training"
            source={algorithm}
            onSourceChange={(v) => {
              setAlgorithm(v);
              if (v === 'custom') setMetric('');
            }}
            descriptions={{
              builtin: 'Objective validation:mAP, logged by the algorithm.',
              custom: 'Define the objective metric with a regular expression over the log.',
            }}
            image={image}
            onImageChange={setImage}
            imageError={show(problems.image)}
            inputMode={{ value: inputMode, onChange: setInputMode }}
            metrics={{
              rows: metrics,
              onChange: setMetrics,
              description: 'The objective metric must be one of these.',
              error: show(problems.metrics),
            }}
          />
          <ChannelsEditor
            channels={channels}
            onChange={setChannels}
            problems={cProblems}
            showProblems={form.submitted}
          />
          <ColumnLayout columns={3}>
            <FormField label="S3 output path" errorText={show(problems.output)}>
              <Input
                value={output}
                onChange={(e) => setOutput(e.detail.value)}
                placeholder="s3://bucket/tuning/"
              />
            </FormField>
            <FormField label="Instance type">
              <Select
                selectedOption={opt(instanceType)}
                options={TRAINING_INSTANCE_TYPES.map(opt)}
                onChange={(e) => setInstanceType(e.detail.selectedOption.value!)}
              />
            </FormField>
            <FormField
              label="Maximum runtime per job (seconds)"
              errorText={show(problems.maxRuntime)}
            >
              <Input
                type="number"
                value={maxRuntime}
                onChange={(e) => setMaxRuntime(e.detail.value)}
              />
            </FormField>
          </ColumnLayout>
        </SpaceBetween>
      </Container>
    </FormPage>
  );
}
