import type { ObjectStore } from '../objects/index.js';
import type { ArnContext } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import type { Db, TagRepository } from '../store/index.js';
import type { PrelabelDeps } from './prelabel.js';
import type { AutoLabelingPort } from './active-learning/port.js';
import type { LabelingRepository } from './repository.js';
import type { WorkteamRepository } from './workteams.js';

/** What the labeling context is built from (the server's composition root passes it). */
export interface LabelingDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly arn: ArnContext;
  readonly objects: ObjectStore;
  readonly tags: TagRepository;
  /** Lifetime of signed image URLs; default 300 s. */
  readonly imageUrlTtlMs?: number;
  /** Background tick period; default 1000 ms. 0 = no timer (tests call tick()). */
  readonly tickMs?: number;
  /** Pre-labeling: how to ask an endpoint for an image's boxes (absent: tasks get a notice). */
  readonly prelabel?: PrelabelDeps;
  /** Automated data labeling (training, models, predictions); absent = refused at creation. */
  readonly autoLabeling?: AutoLabelingPort;
  /** Reports a background failure (the server logs it). */
  readonly onError?: (err: unknown) => void;
}

/** What every part of the labeling context shares: its deps, the repositories and the time. */
export interface LabelingContext {
  readonly deps: LabelingDeps;
  readonly repo: LabelingRepository;
  readonly workteams: WorkteamRepository;
  now(): number;
}
