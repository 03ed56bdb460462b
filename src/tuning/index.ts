export { Tuning, bestTrial, childRequest, countNotImproving } from './tuner.js';
export type { TuningDeps } from './tuner.js';
export { tuningMigrations } from './migrations.js';
export { fromTraining } from './training-port.js';
export type { TrainingPort, ChildJob, MetricEvent, TrainingLike } from './training-port.js';
export type { CreateTuningJobRequest } from './request.js';
export type { TrialRecord, TuningJobRecord, TuningJobStatus, TuningConfig } from './model.js';
export { TuningJobStatuses, TUNING_TRANSITIONS } from './model.js';
export { leaderboardRows } from './leaderboard.js';
