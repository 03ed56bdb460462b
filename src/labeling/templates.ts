import type { InstructionBlock, TaskType } from './model.js';

/**
 * Apiary's built-in worker templates and how a CreateLabelingJob request names them: the
 * `HumanTaskUiArn`s below, Ground Truth's built-in PRE-/ACS- Lambda ARNs, or a `UiTemplateS3Uri`
 * whose Liquid HTML uses a crowd element (`crowd-bounding-box`, `crowd-image-classifier`,
 * `crowd-image-classifier-multi-select`).
 */
export const BUILT_IN_UIS: Readonly<Record<TaskType, string>> = {
  'bounding-box': 'apiary-bounding-box',
  'adjustment-bounding-box': 'apiary-adjustment-bounding-box',
  'verification-bounding-box': 'apiary-verification-bounding-box',
  'image-classification': 'apiary-image-classification',
  'image-classification-multilabel': 'apiary-image-classification-multilabel',
};

/** The ARN of the built-in worker task template for a task type in `region`. */
export const humanTaskUiArn = (region: string, accountId: string, type: TaskType): string =>
  `arn:aws:sagemaker:${region}:${accountId}:human-task-ui/${BUILT_IN_UIS[type]}`;

const LAMBDA_TYPES: readonly [RegExp, TaskType][] = [
  [/:function:(PRE|ACS)-AdjustmentBoundingBox$/, 'adjustment-bounding-box'],
  [/:function:(PRE|ACS)-VerificationBoundingBox$/, 'verification-bounding-box'],
  [/:function:(PRE|ACS)-BoundingBox$/, 'bounding-box'],
  [/:function:(PRE|ACS)-ImageMultiClassMultiLabel$/, 'image-classification-multilabel'],
  [/:function:(PRE|ACS)-ImageMultiClass$/, 'image-classification'],
];

export function taskTypeFromLambda(arn: string | undefined): TaskType | undefined {
  if (!arn) return undefined;
  return LAMBDA_TYPES.find(([re]) => re.test(arn))?.[1];
}

export function taskTypeFromUiArn(arn: string | undefined): TaskType | undefined {
  if (!arn) return undefined;
  const name = arn.slice(arn.indexOf('human-task-ui/') + 'human-task-ui/'.length).toLowerCase();
  const bare = name.replace(/^apiary-/, '').replace(/_/g, '-');
  const aliases: Record<string, TaskType> = {
    'bounding-box': 'bounding-box',
    boundingbox: 'bounding-box',
    'adjustment-bounding-box': 'adjustment-bounding-box',
    'verification-bounding-box': 'verification-bounding-box',
    'image-classification': 'image-classification',
    imagemulticlass: 'image-classification',
    'image-classification-multilabel': 'image-classification-multilabel',
    imagemulticlassmultilabel: 'image-classification-multilabel',
  };
  return aliases[bare];
}

export interface ParsedTemplate {
  readonly taskType: TaskType | undefined;
  readonly header: string | undefined;
  /** Literal `labels="[...]"` of the crowd element (when not a Liquid expression). */
  readonly labels: readonly string[] | undefined;
  readonly shortInstructions: readonly InstructionBlock[];
  readonly fullInstructions: readonly InstructionBlock[];
}

/**
 * Reads a Ground Truth Liquid template: which crowd element it uses, its header, its literal
 * labels and its instructions. Instructions become plain blocks (headings, text, images): the
 * template's HTML is never sent to a browser.
 */
export function parseTemplate(html: string): ParsedTemplate {
  const taskType: TaskType | undefined = /<crowd-bounding-box\b/i.test(html)
    ? /\binitial-value\s*=/i.test(html)
      ? 'adjustment-bounding-box'
      : 'bounding-box'
    : /<crowd-image-classifier-multi-select\b/i.test(html)
      ? 'image-classification-multilabel'
      : /<crowd-image-classifier\b/i.test(html)
        ? 'image-classification'
        : undefined;
  const element =
    /<crowd-(?:bounding-box|image-classifier(?:-multi-select)?)\b([^>]*)>/i.exec(html)?.[1] ?? '';
  const attr = (name: string): string | undefined => {
    const m = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i').exec(element);
    return m ? decodeEntities(m[2] ?? m[3] ?? '') : undefined;
  };
  const header = attr('header');
  let labels: string[] | undefined;
  const rawLabels = attr('labels') ?? attr('categories');
  if (rawLabels && !rawLabels.includes('{{')) {
    try {
      const parsed = JSON.parse(rawLabels) as unknown;
      if (Array.isArray(parsed) && parsed.every((l) => typeof l === 'string')) labels = parsed;
    } catch {
      /* a Liquid expression or not JSON: labels come from the label category file */
    }
  }
  const section = (tag: string): string =>
    new RegExp(`<${tag}\\b[^>]*>([\\s\\S]*?)</${tag}>`, 'i').exec(html)?.[1] ?? '';
  return {
    taskType,
    header: header && !header.includes('{{') ? header : undefined,
    labels,
    shortInstructions: instructionBlocks(section('short-instructions')),
    fullInstructions: instructionBlocks(section('full-instructions')),
  };
}

/** HTML → heading / text / image blocks. Everything else (scripts, styles, attributes) is dropped. */
export function instructionBlocks(html: string): InstructionBlock[] {
  const blocks: InstructionBlock[] = [];
  let example: 'good' | 'bad' | undefined;
  const cleaned = html.replace(/<(script|style|template)\b[\s\S]*?<\/\1>/gi, '');
  const re =
    /<img\b([^>]*)>|<(h[1-6])\b[^>]*>([\s\S]*?)<\/\2>|<\/?(p|div|li|ul|ol|br|section|h[1-6])\b[^>]*>|([^<]+)|<[^>]*>/gi;
  let text = '';
  const flush = () => {
    const t = decodeEntities(text).replace(/\s+/g, ' ').trim();
    text = '';
    if (!t) return;
    const ex = /\bgood example/i.test(t) ? 'good' : /\bbad example/i.test(t) ? 'bad' : undefined;
    if (ex) example = ex;
    blocks.push({
      kind: ex && t.length < 60 ? 'heading' : 'text',
      text: t,
      ...(example ? { example } : {}),
    });
  };
  for (let m = re.exec(cleaned); m; m = re.exec(cleaned)) {
    if (m[1] !== undefined) {
      flush();
      const src = /\bsrc\s*=\s*("([^"]*)"|'([^']*)')/i.exec(m[1]);
      const alt = /\balt\s*=\s*("([^"]*)"|'([^']*)')/i.exec(m[1]);
      const s = src ? decodeEntities(src[2] ?? src[3] ?? '').trim() : '';
      if (
        /^s3:\/\/[^/]+\/.+/.test(s) ||
        /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/.test(s)
      ) {
        blocks.push({
          kind: 'image',
          text: alt ? decodeEntities(alt[2] ?? alt[3] ?? '') : '',
          src: s,
          ...(example ? { example } : {}),
        });
      }
    } else if (m[2] !== undefined) {
      flush();
      const t = decodeEntities(m[3]!.replace(/<[^>]*>/g, ''))
        .replace(/\s+/g, ' ')
        .trim();
      if (t) {
        const ex = /\bgood\b/i.test(t) ? 'good' : /\bbad\b/i.test(t) ? 'bad' : undefined;
        example = ex ?? (/example/i.test(t) ? example : undefined);
        blocks.push({ kind: 'heading', text: t, ...(example ? { example } : {}) });
      }
    } else if (m[4] !== undefined) {
      flush();
    } else if (m[5] !== undefined) {
      text += m[5];
    }
  }
  flush();
  return blocks.slice(0, 200);
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|nbsp);/gi, (_, e: string) => {
    const k = e.toLowerCase();
    if (k === 'amp') return '&';
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'quot') return '"';
    if (k === 'apos') return "'";
    if (k === 'nbsp') return ' ';
    const code = k.startsWith('#x') ? parseInt(k.slice(2), 16) : parseInt(k.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : '';
  });
}

/** A simple instruction: text only (TaskDescription). */
export const textBlocks = (text: string): InstructionBlock[] =>
  text.trim() ? [{ kind: 'text', text: text.trim() }] : [];
