import { useMemo, useState } from 'react';
import Container from '@cloudscape-design/components/container';
import ExpandableSection from '@cloudscape-design/components/expandable-section';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import ColumnLayout from '@cloudscape-design/components/column-layout';
import Box from '@cloudscape-design/components/box';
import { sagemaker } from '../../app/api.js';
import type { PageProps } from '../../app/router.js';
import { useSubmit } from '../../app/useSubmit.js';
import AlgorithmFields, {
  type AlgorithmSource,
  type MetricRow,
} from '../../components/AlgorithmFields.js';
import FormPage from '../../components/FormPage.js';
import NameAndRole from '../../components/NameAndRole.js';
import {
  DEFAULT_ROLE_ARN,
  OBJECT_DETECTION_IMAGE,
  TRAINING_INSTANCE_TYPES,
} from '../../lib/constants.js';
import { nameProblem, parseS3 } from '../../lib/format.js';
import {
  defaultHyperparameters,
  hyperparameterRowProblems,
  hyperparameterSpec,
} from '../../lib/hyperparameters.js';
import {
  channelProblems,
  type ChannelRow,
  manifestChannel,
  toChannel,
} from '../../lib/training-form.js';
import ChannelsEditor from '../../components/ChannelsEditor.js';
import KeyValueEditor from '../../components/KeyValueEditor.js';

export default function CreateTrainingJob({ query }: PageProps) {
  const form = useSubmit();
  const [name, setName] = useState(query.get('name') ?? '');
  const [role, setRole] = useState(DEFAULT_ROLE_ARN);
  const [algorithm, setAlgorithm] = useState<AlgorithmSource>('builtin');
  const [image, setImage] = useState('');
  const [metrics, setMetrics] = useState<MetricRow[]>([]);
  const [inputMode, setInputMode] = useState('Pipe');
  const [instanceType, setInstanceType] = useState('ml.m5.xlarge');
  const [instanceCount, setInstanceCount] = useState('1');
  const [volume, setVolume] = useState('10');
  const [maxRuntime, setMaxRuntime] = useState('86400');
  const [hps, setHps] = useState(defaultHyperparameters);
  const [channels, setChannels] = useState<ChannelRow[]>(() => {
    const train = query.get('train');
    const validation = query.get('validation');
    if (train)
      return [
        manifestChannel('train', train),
        ...(validation ? [manifestChannel('validation', validation)] : []),
      ];
    return [manifestChannel('train'), manifestChannel('validation')];
  });
  const [output, setOutput] = useState(query.get('output') ?? '');

  const builtIn = algorithm === 'builtin';
  const hpProblems = useMemo(() => hyperparameterRowProblems(hps, builtIn), [hps, builtIn]);
  const chProblems = useMemo(() => channelProblems(channels, inputMode), [channels, inputMode]);
  const problems = {
    name: nameProblem(name),
    image: !builtIn && image.trim() === '' ? 'Enter the training image.' : undefined,
    instanceCount:
      /^\d+$/.test(instanceCount) && Number(instanceCount) >= 1
        ? undefined
        : 'Enter a whole number of at least 1.',
    volume:
      /^\d+$/.test(volume) && Number(volume) >= 1
        ? undefined
        : 'Enter a whole number of GB, at least 1.',
    maxRuntime:
      /^\d+$/.test(maxRuntime) && Number(maxRuntime) >= 1 && Number(maxRuntime) <= 2419200
        ? undefined
        : 'Enter seconds between 1 and 2419200 (28 days).',
    output: parseS3(output) ? undefined : 'Enter an S3 URI such as s3://bucket/output/.',
    metrics: metrics.some((m) => !m.name.trim() || !m.regex.trim())
      ? 'Every metric needs a name and a regular expression.'
      : undefined,
  };
  const show = form.show;

  const submit = () =>
    form.submit({
      valid:
        !Object.values(problems).some(Boolean) && hpProblems.size === 0 && chProblems.size === 0,
      invalidMessage: 'Fix the fields marked below.',
      send: () =>
        sagemaker('CreateTrainingJob', {
          TrainingJobName: name,
          RoleArn: role,
          AlgorithmSpecification: {
            TrainingImage: builtIn ? OBJECT_DETECTION_IMAGE : image.trim(),
            TrainingInputMode: inputMode,
            ...(!builtIn && metrics.length
              ? { MetricDefinitions: metrics.map((m) => ({ Name: m.name.trim(), Regex: m.regex })) }
              : {}),
          },
          HyperParameters: Object.fromEntries(
            hps.filter((h) => h.value.trim() !== '').map((h) => [h.key.trim(), h.value.trim()]),
          ),
          InputDataConfig: channels.map(toChannel),
          OutputDataConfig: { S3OutputPath: output.trim() },
          ResourceConfig: {
            InstanceType: instanceType,
            InstanceCount: Number(instanceCount),
            VolumeSizeInGB: Number(volume),
          },
          StoppingCondition: { MaxRuntimeInSeconds: Number(maxRuntime) },
        }),
      success: `Created training job ${name}.`,
      openPath: `/training-jobs/${encodeURIComponent(name)}`,
    });

  return (
    <FormPage
      title="Create training job"
      description="Train the built-in object detector, or your own algorithm image, on data in Apiary's object store."
      submitLabel="Create training job"
      cancelPath="/training-jobs"
      busy={form.busy}
      error={form.error}
      onSubmit={() => void submit()}
    >
      <NameAndRole
        title="Job settings"
        nameLabel="Job name"
        nameDescription="Up to 63 letters, digits and hyphens; unique."
        name={name}
        onNameChange={setName}
        nameError={show(problems.name)}
        role={role}
        onRoleChange={setRole}
      />
      <Container header={<Header variant="h2">Algorithm options</Header>}>
        <SpaceBetween size="l">
          <AlgorithmFields
            kind="training"
            source={algorithm}
            onSourceChange={(v) => {
              setAlgorithm(v);
              if (v === 'custom' && hps.every((h, i) => h.key === defaultHyperparameters()[i]?.key))
                setHps([]);
              if (v === 'builtin' && hps.length === 0) setHps(defaultHyperparameters());
            }}
            image={image}
            onImageChange={setImage}
            imageError={show(problems.image)}
            inputMode={{
              value: inputMode,
              onChange: setInputMode,
              description:
                'File copies the data before training; Pipe streams it (augmented manifests need Pipe).',
            }}
            metrics={{
              rows: metrics,
              onChange: setMetrics,
              description: "Regular expressions over the job's log; the first group is the value.",
              error: show(problems.metrics),
            }}
          />
        </SpaceBetween>
      </Container>
      <Container header={<Header variant="h2">Resource configuration</Header>}>
        <ColumnLayout columns={4}>
          <FormField label="Instance type">
            <Select
              selectedOption={{ label: instanceType, value: instanceType }}
              options={TRAINING_INSTANCE_TYPES.map((t) => ({ label: t, value: t }))}
              onChange={(e) => setInstanceType(e.detail.selectedOption.value!)}
            />
          </FormField>
          <FormField label="Instance count" errorText={show(problems.instanceCount)}>
            <Input
              type="number"
              value={instanceCount}
              onChange={(e) => setInstanceCount(e.detail.value)}
            />
          </FormField>
          <FormField label="Volume size (GB)" errorText={show(problems.volume)}>
            <Input type="number" value={volume} onChange={(e) => setVolume(e.detail.value)} />
          </FormField>
          <FormField label="Maximum runtime (seconds)" errorText={show(problems.maxRuntime)}>
            <Input
              type="number"
              value={maxRuntime}
              onChange={(e) => setMaxRuntime(e.detail.value)}
            />
          </FormField>
        </ColumnLayout>
      </Container>
      <Container
        header={
          <Header
            variant="h2"
            description={
              builtIn
                ? 'Defaults of the built-in algorithm; num_classes and num_training_samples are required.'
                : 'Passed to the container as /opt/ml/input/config/hyperparameters.json.'
            }
          >
            Hyperparameters
          </Header>
        }
      >
        <SpaceBetween size="s">
          {hpProblems.get(-1) && show(hpProblems.get(-1)) && (
            <Box color="text-status-error">{hpProblems.get(-1)}</Box>
          )}
          <KeyValueEditor
            rows={hps}
            onChange={setHps}
            noun="Hyperparameter"
            addButtonText="Add hyperparameter"
            empty="No hyperparameters."
            problem={(i) => show(hpProblems.get(i))}
            hint={(h) => (builtIn ? hyperparameterSpec(h.key.trim())?.description : undefined)}
          />
          {builtIn && (
            <ExpandableSection headerText="All hyperparameters of the built-in algorithm">
              <Box variant="p">
                Add any of: base_network, use_pretrained_model, epochs, learning_rate,
                lr_scheduler_step, lr_scheduler_factor, mini_batch_size, optimizer, momentum,
                weight_decay, image_shape, label_width, nms_threshold, overlap_threshold,
                freeze_layer_pattern, kv_store, early_stopping, early_stopping_min_epochs,
                early_stopping_patience, early_stopping_tolerance.
              </Box>
            </ExpandableSection>
          )}
        </SpaceBetween>
      </Container>
      <Container
        header={
          <Header
            variant="h2"
            description="Each channel is a directory (File) or a FIFO (Pipe) under /opt/ml/input/data/<channel>."
          >
            Input data configuration
          </Header>
        }
      >
        <ChannelsEditor
          channels={channels}
          onChange={setChannels}
          problems={chProblems}
          showProblems={form.submitted}
        />
      </Container>
      <Container header={<Header variant="h2">Output data configuration</Header>}>
        <FormField
          label="S3 output path"
          description="model.tar.gz is written to <path>/<job name>/output/."
          errorText={show(problems.output)}
        >
          <Input
            value={output}
            onChange={(e) => setOutput(e.detail.value)}
            placeholder="s3://bucket/output/"
          />
        </FormField>
      </Container>
    </FormPage>
  );
}
