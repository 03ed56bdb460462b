import { parseJsonColumn } from '../../store/index.js';
import type { LabelingTables } from '../repository.js';
import type { RoundStatus } from './rounds.js';

type RoundRow = LabelingTables['labeling_al_rounds'];

/** A round as the console and DescribeLabelingJob see it. */
export interface RoundView {
  readonly round: number;
  readonly status: RoundStatus;
  readonly humanBatch: number;
  readonly validation: number;
  readonly trainingJobName: string | undefined;
  readonly modelArn: string | undefined;
  readonly threshold: number | undefined;
  readonly estimatedQuality: number | undefined;
  readonly support: number | undefined;
  readonly machineLabeled: number;
  readonly notice: string | undefined;
}

/** A stored round as its view. */
export const toView = (r: RoundRow): RoundView => ({
  round: r.round,
  status: r.status as RoundStatus,
  humanBatch: parseJsonColumn<number[]>(r.batch)?.length ?? 0,
  validation: parseJsonColumn<number[]>(r.validation)?.length ?? 0,
  trainingJobName: r.training_job ?? undefined,
  modelArn: r.model_arn ?? undefined,
  threshold: r.threshold ?? undefined,
  estimatedQuality: r.estimated_quality ?? undefined,
  support: r.support ?? undefined,
  machineLabeled: Number(r.machine_labeled),
  notice: r.notice ?? undefined,
});
