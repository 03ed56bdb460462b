import { apiJson } from '../app/api.js';

/** The worker portal's client of /_apiary/api/labeling (see src/api/console/labeling-routes.ts). */
export interface Box {
  label: string;
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface InstructionBlock {
  kind: 'heading' | 'text' | 'image';
  text: string;
  src?: string;
  example?: 'good' | 'bad';
}

export type TaskType =
  | 'bounding-box'
  | 'adjustment-bounding-box'
  | 'verification-bounding-box'
  | 'image-classification'
  | 'image-classification-multilabel';

export interface Task {
  taskId: string;
  version: number;
  jobName: string;
  title: string;
  description: string;
  header: string;
  taskType: TaskType;
  labels: string[];
  shortInstructions: InstructionBlock[];
  fullInstructions: InstructionBlock[];
  imageUrl: string;
  sourceName: string;
  claimedAtMs: number;
  expiresAtMs: number;
  draft: Draft | null;
  initialValue?: Box[];
  /** Pre-labeling: the model's boxes (the canvas starts with them), or a notice why none. */
  suggestions?: { endpoint: string; boxes: (Box & { score: number })[]; notice?: string };
}

/** What autosave keeps: the boxes (or chosen labels) and when they were last edited. */
export interface Draft {
  boxes?: Box[];
  labels?: string[];
  comment?: string;
  editedAtMs: number;
}

export interface JobSummary {
  name: string;
  title: string;
  description: string;
  taskType: TaskType;
  labels: string[];
  taskTimeLimitSeconds: number;
  available: number;
  claimedTaskId: string | null;
}

const P = '/_apiary/api/labeling';
const enc = encodeURIComponent;

export const listJobs = () => apiJson<{ jobs: JobSummary[] }>(`${P}/jobs`);
export const nextTask = (job: string) =>
  apiJson<{ task: Task | null; serverNowMs?: number }>(`${P}/jobs/${enc(job)}/next`, {
    method: 'POST',
    body: '{}',
  });
export const getTask = (id: string) =>
  apiJson<{ task: Task; serverNowMs: number }>(`${P}/tasks/${enc(id)}`);
export const saveDraft = (id: string, version: number, draft: Draft) =>
  apiJson<{ version: number }>(`${P}/tasks/${enc(id)}/draft`, {
    method: 'PUT',
    body: JSON.stringify({ version, draft }),
  });
export const submitTask = (id: string, version: number, submissionId: string, answer: unknown) =>
  apiJson<{ version: number }>(`${P}/tasks/${enc(id)}/submit`, {
    method: 'POST',
    body: JSON.stringify({ version, submissionId, answer }),
  });
export const releaseTask = (id: string, kind: 'skip' | 'decline') =>
  apiJson<object>(`${P}/tasks/${enc(id)}/${kind}`, { method: 'POST', body: '{}' });

/** Local copy of a draft, for a lost network or a closed tab: newer than the server's wins. */
export const localDraftKey = (taskId: string) => `apiary.draft.${taskId}`;
export function readLocalDraft(taskId: string): Draft | undefined {
  try {
    const v = localStorage.getItem(localDraftKey(taskId));
    return v ? (JSON.parse(v) as Draft) : undefined;
  } catch {
    return undefined;
  }
}
export function writeLocalDraft(taskId: string, draft: Draft): void {
  try {
    localStorage.setItem(localDraftKey(taskId), JSON.stringify(draft));
  } catch {
    /* storage full or disabled: the server copy still counts */
  }
}

/** One submission id per task, kept across reloads so a retried submit is recognised. */
export function submissionIdFor(taskId: string): string {
  const key = `apiary.submission.${taskId}`;
  let id = localStorage.getItem(key);
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem(key, id);
  }
  return id;
}
