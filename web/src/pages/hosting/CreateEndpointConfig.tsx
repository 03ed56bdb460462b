import { useState } from 'react';
import AttributeEditor from '@cloudscape-design/components/attribute-editor';
import Container from '@cloudscape-design/components/container';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import Box from '@cloudscape-design/components/box';
import Checkbox from '@cloudscape-design/components/checkbox';
import ColumnLayout from '@cloudscape-design/components/column-layout';
import { sagemaker } from '../../app/api.js';
import type { PageProps } from '../../app/router.js';
import { useSubmit } from '../../app/useSubmit.js';
import FormPage from '../../components/FormPage.js';
import { useResourceNames } from '../../components/useOptions.js';
import { HOSTING_INSTANCE_TYPES } from '../../lib/constants.js';
import { nameProblem } from '../../lib/format.js';

interface VariantRow {
  name: string;
  model: string;
  instanceType: string;
  count: string;
  weight: string;
}

/** Serverless choices of the instance type select: SageMaker's memory sizes, 1024–6144 MB. */
const SERVERLESS = [1024, 2048, 3072, 4096, 5120, 6144].map((mb) => ({
  label: `Serverless, ${mb} MB`,
  value: `serverless:${mb}`,
}));
const serverlessMb = (t: string): number | undefined =>
  t.startsWith('serverless:') ? Number(t.slice('serverless:'.length)) : undefined;

/** Problems of the data capture fields (when capture is on). */
export function captureProblem(destination: string, sampling: string): string | undefined {
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(destination))
    return 'Destination must be an s3://bucket/prefix URI.';
  const n = Number(sampling);
  if (sampling.trim() === '' || !Number.isInteger(n) || n < 0 || n > 100)
    return 'Sampling must be a whole percentage from 0 to 100.';
  return undefined;
}

/** Problems of one variant row (and duplicates across rows). */
export function variantProblems(rows: readonly VariantRow[]): Map<number, string> {
  const out = new Map<number, string>();
  const seen = new Set<string>();
  rows.forEach((r, i) => {
    const p = nameProblem(r.name);
    if (p) return void out.set(i, `Variant name: ${p}`);
    if (seen.has(r.name.toLowerCase()))
      return void out.set(i, `Variant name ${r.name} appears twice.`);
    seen.add(r.name.toLowerCase());
    if (!r.model) return void out.set(i, 'Choose a model.');
    if (!/^\d+$/.test(r.count) || Number(r.count) < 1)
      return void out.set(i, 'Instance count must be a whole number of at least 1.');
    const w = Number(r.weight);
    if (r.weight.trim() === '' || !Number.isFinite(w) || w < 0)
      return void out.set(i, 'Weight must be a number of at least 0.');
  });
  return out;
}

export default function CreateEndpointConfig({ query }: PageProps) {
  const form = useSubmit();
  const models = useResourceNames('ListModels', 'Models', 'ModelName');
  const [name, setName] = useState('');
  const [rows, setRows] = useState<VariantRow[]>([
    {
      name: 'AllTraffic',
      model: query.get('model') ?? '',
      instanceType: 'ml.m5.large',
      count: '1',
      weight: '1',
    },
  ]);

  const [capture, setCapture] = useState(false);
  const [captureDest, setCaptureDest] = useState('');
  const [sampling, setSampling] = useState('100');
  const captureErr = capture ? captureProblem(captureDest, sampling) : undefined;
  const nameErr = nameProblem(name);
  const rowErrs = variantProblems(rows);
  const totalWeight = rows.reduce((s, r) => s + (Number(r.weight) || 0), 0);
  const update = (i: number, patch: Partial<VariantRow>) =>
    setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  const submit = () =>
    form.submit({
      valid: !nameErr && !captureErr && rowErrs.size === 0 && rows.length > 0,
      send: () =>
        sagemaker('CreateEndpointConfig', {
          EndpointConfigName: name,
          ProductionVariants: rows.map((r) => {
            const mb = serverlessMb(r.instanceType);
            return mb
              ? {
                  VariantName: r.name,
                  ModelName: r.model,
                  ServerlessConfig: { MemorySizeInMB: mb, MaxConcurrency: 20 },
                  InitialVariantWeight: Number(r.weight),
                }
              : {
                  VariantName: r.name,
                  ModelName: r.model,
                  InstanceType: r.instanceType,
                  InitialInstanceCount: Number(r.count),
                  InitialVariantWeight: Number(r.weight),
                };
          }),
          DataCaptureConfig: capture
            ? {
                EnableCapture: true,
                InitialSamplingPercentage: Number(sampling),
                DestinationS3Uri: captureDest,
                CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
                CaptureContentTypeHeader: {
                  JsonContentTypes: ['application/json'],
                  CsvContentTypes: ['text/csv'],
                },
              }
            : undefined,
        }),
      success: `Created endpoint configuration ${name}.`,
      openPath: `/endpoint-configs/${encodeURIComponent(name)}`,
    });

  return (
    <FormPage
      title="Create endpoint configuration"
      submitLabel="Create endpoint configuration"
      cancelPath="/endpoint-configs"
      busy={form.busy}
      error={form.error}
      onSubmit={() => void submit()}
    >
      <Container header={<Header variant="h2">Endpoint configuration</Header>}>
        <FormField label="Endpoint configuration name" errorText={form.show(nameErr)}>
          <Input value={name} onChange={(e) => setName(e.detail.value)} ariaRequired />
        </FormField>
      </Container>
      <Container
        header={
          <Header
            variant="h2"
            description="Traffic is split between variants in proportion to their weights."
          >
            Production variants
          </Header>
        }
      >
        <AttributeEditor
          items={rows}
          addButtonText="Add variant"
          removeButtonText="Remove"
          onAddButtonClick={() =>
            setRows([
              ...rows,
              {
                name: `Variant${rows.length + 1}`,
                model: '',
                instanceType: 'ml.m5.large',
                count: '1',
                weight: '1',
              },
            ])
          }
          onRemoveButtonClick={(e) => setRows(rows.filter((_, i) => i !== e.detail.itemIndex))}
          empty="Add at least one variant."
          definition={[
            {
              label: 'Variant name',
              control: (r, i) => (
                <Input
                  value={r.name}
                  ariaLabel={`Variant ${i + 1} name`}
                  onChange={(e) => update(i, { name: e.detail.value })}
                />
              ),
              errorText: (_r, i) => form.show(rowErrs.get(i)),
            },
            {
              label: 'Model',
              control: (r, i) => (
                <Select
                  ariaLabel={`Variant ${i + 1} model`}
                  selectedOption={r.model ? { label: r.model, value: r.model } : null}
                  placeholder="Choose a model"
                  statusType={models.loading ? 'loading' : 'finished'}
                  empty="No models yet: create one first."
                  options={models.names.map((n) => ({ label: n, value: n }))}
                  onChange={(e) => update(i, { model: e.detail.selectedOption.value ?? '' })}
                  filteringType="auto"
                />
              ),
            },
            {
              label: 'Instance type',
              control: (r, i) => (
                <Select
                  ariaLabel={`Variant ${i + 1} instance type`}
                  selectedOption={
                    SERVERLESS.find((o) => o.value === r.instanceType) ?? {
                      label: r.instanceType,
                      value: r.instanceType,
                    }
                  }
                  options={[
                    ...HOSTING_INSTANCE_TYPES.map((t) => ({ label: t, value: t })),
                    ...SERVERLESS,
                  ]}
                  onChange={(e) => update(i, { instanceType: e.detail.selectedOption.value! })}
                />
              ),
            },
            {
              label: 'Instances',
              control: (r, i) => (
                <Input
                  type="number"
                  inputMode="numeric"
                  value={r.count}
                  disabled={serverlessMb(r.instanceType) !== undefined}
                  ariaLabel={`Variant ${i + 1} instance count`}
                  onChange={(e) => update(i, { count: e.detail.value })}
                />
              ),
            },
            {
              label: 'Weight',
              control: (r, i) => (
                <Input
                  type="number"
                  inputMode="decimal"
                  value={r.weight}
                  ariaLabel={`Variant ${i + 1} weight`}
                  onChange={(e) => update(i, { weight: e.detail.value })}
                />
              ),
              info: undefined,
            },
            {
              label: 'Traffic',
              control: (r) => (
                <Box padding={{ top: 'xs' }}>
                  {totalWeight > 0
                    ? `${Math.round(((Number(r.weight) || 0) / totalWeight) * 100)}%`
                    : '-'}
                </Box>
              ),
            },
          ]}
        />
      </Container>
      <Container
        header={
          <Header
            variant="h2"
            description="Requests and responses written as JSON lines under {destination}/{endpoint}/{variant}/yyyy/mm/dd/hh/ (JSON and CSV as text, images base64)."
          >
            Data capture
          </Header>
        }
      >
        <Checkbox checked={capture} onChange={(e) => setCapture(e.detail.checked)}>
          Capture requests and responses
        </Checkbox>
        {capture && (
          <ColumnLayout columns={2}>
            <FormField label="Capture destination" errorText={form.show(captureErr)}>
              <Input
                value={captureDest}
                placeholder="s3://bucket/capture"
                onChange={(e) => setCaptureDest(e.detail.value)}
              />
            </FormField>
            <FormField label="Sampling percentage">
              <Input
                type="number"
                inputMode="numeric"
                value={sampling}
                onChange={(e) => setSampling(e.detail.value)}
              />
            </FormField>
          </ColumnLayout>
        )}
      </Container>
    </FormPage>
  );
}
