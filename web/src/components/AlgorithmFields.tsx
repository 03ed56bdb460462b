import AttributeEditor from '@cloudscape-design/components/attribute-editor';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import RadioGroup from '@cloudscape-design/components/radio-group';
import { OBJECT_DETECTION_IMAGE } from '../lib/constants.js';

/** Whether a job or model runs Apiary's built-in object detector or the user's own image. */
export type AlgorithmSource = 'builtin' | 'custom';

/** A MetricDefinitions row: a name and a regex over the log whose first group is the value. */
export interface MetricRow {
  readonly name: string;
  readonly regex: string;
}

/** The wording of the block: a training algorithm (training, tuning) or inference code (model). */
const WORDS = {
  training: {
    field: 'Algorithm source',
    builtin: 'Built-in algorithm: Object Detection',
    builtinDescription: `SSD detector (${OBJECT_DETECTION_IMAGE})`,
    custom: 'Your own algorithm container',
    customDescription: 'Any image that follows the /opt/ml training contract.',
    image: 'Training image',
  },
  inference: {
    field: 'Inference code',
    builtin: 'Built-in object detection',
    builtinDescription: OBJECT_DETECTION_IMAGE,
    custom: 'Your own inference image',
    customDescription: 'A container that answers /invocations and /ping.',
    image: 'Inference image',
  },
} as const;

/**
 * The algorithm block of the training, tuning and model forms: built-in or own image (and the
 * image's URI), and for training algorithms the input mode and, for own images, the metric
 * definitions. Rendered as fields of the caller's container; the caller keeps the state.
 */
export default function AlgorithmFields(props: {
  kind: 'training' | 'inference';
  source: AlgorithmSource;
  onSourceChange(source: AlgorithmSource): void;
  /** Overrides the radio descriptions (the tuning form explains the objective metric there). */
  descriptions?: { builtin?: string; custom?: string };
  image: string;
  onImageChange(image: string): void;
  imageError?: string;
  /** Training kinds: File or Pipe. */
  inputMode?: { value: string; onChange(mode: string): void; description?: string };
  /** Training kinds with an own image: MetricDefinitions. */
  metrics?: {
    rows: readonly MetricRow[];
    onChange(rows: MetricRow[]): void;
    description: string;
    error?: string;
  };
}) {
  const words = WORDS[props.kind];
  const custom = props.source === 'custom';
  const metrics = props.metrics;
  const setMetric = (i: number, patch: Partial<MetricRow>) =>
    metrics?.onChange(metrics.rows.map((m, j) => (j === i ? { ...m, ...patch } : m)));
  return (
    <>
      <FormField label={words.field}>
        <RadioGroup
          value={props.source}
          onChange={(e) => props.onSourceChange(e.detail.value as AlgorithmSource)}
          items={[
            {
              value: 'builtin',
              label: words.builtin,
              description: props.descriptions?.builtin ?? words.builtinDescription,
            },
            {
              value: 'custom',
              label: words.custom,
              description: props.descriptions?.custom ?? words.customDescription,
            },
          ]}
        />
      </FormField>
      {custom && (
        <FormField label={words.image} errorText={props.imageError}>
          <Input
            value={props.image}
            onChange={(e) => props.onImageChange(e.detail.value)}
            placeholder="registry/image:tag"
          />
        </FormField>
      )}
      {props.inputMode && (
        <FormField label="Input mode" description={props.inputMode.description}>
          <RadioGroup
            value={props.inputMode.value}
            onChange={(e) => props.inputMode?.onChange(e.detail.value)}
            items={[
              { value: 'File', label: 'File' },
              { value: 'Pipe', label: 'Pipe' },
            ]}
          />
        </FormField>
      )}
      {custom && metrics && (
        <FormField
          label="Metrics"
          description={metrics.description}
          errorText={metrics.error}
          stretch
        >
          <AttributeEditor
            items={metrics.rows}
            addButtonText="Add metric"
            removeButtonText="Remove"
            empty="No metrics."
            onAddButtonClick={() => metrics.onChange([...metrics.rows, { name: '', regex: '' }])}
            onRemoveButtonClick={(e) =>
              metrics.onChange(metrics.rows.filter((_, i) => i !== e.detail.itemIndex))
            }
            definition={[
              {
                label: 'Metric name',
                control: (m, i) => (
                  <Input
                    value={m.name}
                    ariaLabel={`Metric ${i + 1} name`}
                    onChange={(e) => setMetric(i, { name: e.detail.value })}
                  />
                ),
              },
              {
                label: 'Regex',
                control: (m, i) => (
                  <Input
                    value={m.regex}
                    ariaLabel={`Metric ${i + 1} regex`}
                    onChange={(e) => setMetric(i, { regex: e.detail.value })}
                  />
                ),
              },
            ]}
          />
        </FormField>
      )}
    </>
  );
}
