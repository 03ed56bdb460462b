/** The labeling-job wizard's pure parts (unit-tested): the label category file and the request. */

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export interface InstructionsInput {
  readonly short: string;
  readonly good: string;
  readonly bad: string;
  readonly full: string;
}

/** The task types the wizard offers (Ground Truth's image tasks). */
export type WizardTaskType =
  'bounding-box' | 'image-classification' | 'image-classification-multilabel';

export const WIZARD_TASK_TYPES: readonly {
  value: WizardTaskType;
  label: string;
  description: string;
}[] = [
  {
    value: 'bounding-box',
    label: 'Bounding box',
    description: 'Workers draw boxes around objects (object detection).',
  },
  {
    value: 'image-classification',
    label: 'Image classification (single label)',
    description: 'Workers pick the one label that fits each image.',
  },
  {
    value: 'image-classification-multilabel',
    label: 'Image classification (multi-label)',
    description: 'Workers pick every label that applies to each image.',
  },
];

const taskNoun = (t: WizardTaskType) =>
  t === 'bounding-box' ? 'A bounding-box job' : 'An image classification job';

/**
 * Problems of the label list: unique, each 1-256 characters; a bounding-box job takes 1-50 labels,
 * an image classification job at least 2 (SageMaker's rule) and at most 50.
 */
export function labelProblems(
  labels: readonly string[],
  taskType: WizardTaskType = 'bounding-box',
): string | undefined {
  const trimmed = labels.map((l) => l.trim());
  if (trimmed.every((l) => l === '')) return 'Add at least one label.';
  if (trimmed.length > 50)
    return `${taskNoun(taskType)} takes at most 50 labels; this one has ${trimmed.length}.`;
  const empty = trimmed.findIndex((l) => l === '');
  if (empty >= 0) return `Label ${empty + 1} is empty.`;
  const long = trimmed.find((l) => l.length > 256);
  if (long) return `Label '${long.slice(0, 20)}…' is longer than 256 characters.`;
  const seen = new Set<string>();
  for (const l of trimmed) {
    if (seen.has(l)) return `Label '${l}' appears twice.`;
    seen.add(l);
  }
  if (taskType !== 'bounding-box' && trimmed.length < 2)
    return 'An image classification job needs at least 2 labels.';
  return undefined;
}

/**
 * The label category configuration file (spec §5.6) the console writes next to the job's
 * output, instructions with good and bad examples included, as SageMaker's console does.
 */
export function labelCategoryConfig(
  labels: readonly string[],
  instructions: InstructionsInput,
  auditLabelAttributeName?: string,
): string {
  const para = (s: string) =>
    s
      .split(/\n{2,}/)
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
      .join('');
  const short = [
    para(instructions.short),
    instructions.good.trim() ? `<h3>Good example</h3>${para(instructions.good)}` : '',
    instructions.bad.trim() ? `<h3>Bad example</h3>${para(instructions.bad)}` : '',
  ].join('');
  return JSON.stringify(
    {
      'document-version': '2018-11-28',
      labels: labels.map((l) => ({ label: l.trim() })),
      instructions: { shortInstruction: short, fullInstruction: para(instructions.full) },
      ...(auditLabelAttributeName ? { auditLabelAttributeName } : {}),
    },
    null,
    2,
  );
}

const BUILT_IN_NAMES: Readonly<Record<WizardTaskType, string>> = {
  'bounding-box': 'BoundingBox',
  'image-classification': 'ImageMultiClass',
  'image-classification-multilabel': 'ImageMultiClassMultiLabel',
};

/** Ground Truth's built-in task of that type, named as SageMaker's console names it. */
export function builtInTask(taskType: WizardTaskType, region: string) {
  const n = BUILT_IN_NAMES[taskType];
  return {
    PreHumanTaskLambdaArn: `arn:aws:lambda:${region}:432418664414:function:PRE-${n}`,
    AnnotationConsolidationConfig: {
      AnnotationConsolidationLambdaArn: `arn:aws:lambda:${region}:432418664414:function:ACS-${n}`,
    },
    UiConfig: { HumanTaskUiArn: `arn:aws:sagemaker:${region}:394669845002:human-task-ui/${n}` },
  };
}

/**
 * The wizard's `LabelAttributeName`: what the user typed, else the job name — SageMaker's console
 * default, which the tutorial's code reads back (`desc[job_name]`).
 */
export const labelAttributeName = (jobName: string, typed: string | undefined): string =>
  typed ?? jobName;

/** A job chained from a finished bounding-box job: adjust its boxes, or verify them. */
export type ChainKind = 'adjustment' | 'verification';

/** Ground Truth's built-in adjustment / verification task, named as SageMaker's console names it. */
export function chainedTask(kind: ChainKind, region: string) {
  const n = kind === 'adjustment' ? 'AdjustmentBoundingBox' : 'VerificationBoundingBox';
  return {
    PreHumanTaskLambdaArn: `arn:aws:lambda:${region}:432418664414:function:PRE-${n}`,
    AnnotationConsolidationConfig: {
      AnnotationConsolidationLambdaArn: `arn:aws:lambda:${region}:432418664414:function:ACS-${n}`,
    },
    // Ground Truth's chained box jobs use the bounding-box UI; the PRE lambda picks the task.
    UiConfig: {
      HumanTaskUiArn: `arn:aws:sagemaker:${region}:394669845002:human-task-ui/BoundingBox`,
    },
  };
}

/**
 * The wizard's starting values for a chained job: the earlier job's output manifest as input, a
 * new label attribute (Ground Truth requires one), its labels (adjustment) or a rating (verification).
 */
export function chainDefaults(
  source: { name: string; attribute: string; outputUri: string; labels: readonly string[] },
  kind: ChainKind,
) {
  const suffix = kind === 'adjustment' ? 'adjusted' : 'verified';
  return {
    name: `${source.name}-${suffix}`.slice(0, 63),
    attribute: `${source.attribute}-${suffix}`.slice(0, 127),
    manifest: source.outputUri,
    audit: source.attribute,
    labels: kind === 'adjustment' ? [...source.labels] : ['Correct', 'Incorrect'],
    title:
      kind === 'adjustment' ? 'Adjust the boxes so each fits its object' : 'Are these boxes right?',
    short:
      kind === 'adjustment'
        ? 'Move or resize each box so it fits its object; delete wrong boxes and add missing ones.'
        : 'Check every box: choose Correct or Incorrect, and say what is wrong in the comment.',
  };
}
