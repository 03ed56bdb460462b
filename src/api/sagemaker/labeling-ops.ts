import { AppError, ErrorCodes } from '../../shared/errors.js';
import {
  groupsOfMembers,
  type Labeling,
  type MemberDefinitionInput,
} from '../../labeling/index.js';
import type { LabelCounters, LabelingJobRecord, WorkteamRecord } from '../../labeling/index.js';
import type { WireAlgorithmsConfig } from '../../labeling/index.js';
import type { TagRepository } from '../../store/index.js';
import type { OperationTable } from './protocol.js';
import { tagsFromWire } from './tags.js';
import { compact, encodeNextToken, listQueryFrom, toEpochSeconds, type ListInput } from './wire.js';

/** SageMaker wire shapes ⇄ the labeling context: work teams and labeling jobs. */

const countersToWire = (c: LabelCounters) => ({
  TotalLabeled: c.totalLabeled,
  HumanLabeled: c.humanLabeled,
  MachineLabeled: c.machineLabeled,
  FailedNonRetryableError: c.failedNonRetryableError,
  Unlabeled: c.unlabeled,
});

function workteamToWire(t: WorkteamRecord, workforceArn: string, subDomain: string | undefined) {
  const r = t.request as {
    MemberDefinitions?: unknown;
    NotificationConfiguration?: unknown;
    WorkerAccessConfiguration?: unknown;
  };
  return compact({
    WorkteamName: t.name,
    MemberDefinitions: r.MemberDefinitions,
    WorkteamArn: t.arn,
    WorkforceArn: workforceArn,
    ProductListingIds: [],
    Description: t.description,
    SubDomain: subDomain,
    CreateDate: toEpochSeconds(t.createdAtMs),
    LastUpdatedDate: toEpochSeconds(t.lastModifiedMs),
    NotificationConfiguration: r.NotificationConfiguration,
    WorkerAccessConfiguration: r.WorkerAccessConfiguration,
  });
}

interface WireHumanTaskConfig {
  WorkteamArn: string;
  UiConfig: { UiTemplateS3Uri?: string; HumanTaskUiArn?: string };
  PreHumanTaskLambdaArn?: string;
  TaskTitle: string;
  TaskDescription: string;
  NumberOfHumanWorkersPerDataObject: number;
  TaskTimeLimitInSeconds: number;
  TaskAvailabilityLifetimeInSeconds?: number;
  MaxConcurrentTaskCount?: number;
  AnnotationConsolidationConfig?: { AnnotationConsolidationLambdaArn: string };
}

interface CreateLabelingJobInput {
  LabelingJobName: string;
  LabelAttributeName: string;
  InputConfig: {
    DataSource: { S3DataSource?: { ManifestS3Uri: string }; SnsDataSource?: unknown };
  };
  OutputConfig: { S3OutputPath: string };
  RoleArn: string;
  LabelCategoryConfigS3Uri?: string;
  StoppingConditions?: {
    MaxHumanLabeledObjectCount?: number;
    MaxPercentageOfInputDatasetLabeled?: number;
  };
  LabelingJobAlgorithmsConfig?: WireAlgorithmsConfig;
  HumanTaskConfig: WireHumanTaskConfig;
  Tags?: { Key: string; Value?: string }[];
}

export function labelingOperations(deps: {
  labeling: Labeling;
  tags: TagRepository;
  portalUrl?: string;
}): OperationTable {
  const { labeling, tags } = deps;
  const workforceArn = () => labeling.workteams.workforceArn();

  const outputOf = async (job: LabelingJobRecord) =>
    job.outputWritten
      ? compact({
          OutputDatasetS3Uri: labeling.outputManifestUri(job),
          FinalActiveLearningModelArn: job.spec.autoLabeling
            ? await labeling.finalActiveLearningModelArn(job.name)
            : undefined,
        })
      : undefined;

  return {
    async CreateWorkteam(input: {
      WorkteamName: string;
      MemberDefinitions: MemberDefinitionInput[];
      Description: string;
      Tags?: { Key: string; Value?: string }[];
    }) {
      const memberGroups = groupsOfMembers(input.MemberDefinitions);
      const {
        Tags: _tags,
        WorkteamName: _n,
        Description: _d,
        ...rest
      } = input as unknown as Record<string, unknown>;
      const team = await labeling.workteams.create({
        name: input.WorkteamName,
        description: input.Description,
        memberGroups,
        request: rest,
      });
      await tags.add(team.arn, tagsFromWire(input.Tags));
      return { WorkteamArn: team.arn };
    },
    async DescribeWorkteam(input: { WorkteamName: string }) {
      return {
        Workteam: workteamToWire(
          await labeling.workteams.get(input.WorkteamName),
          workforceArn(),
          deps.portalUrl,
        ),
      };
    },
    async UpdateWorkteam(input: {
      WorkteamName: string;
      MemberDefinitions?: MemberDefinitionInput[];
      Description?: string;
      NotificationConfiguration?: unknown;
      WorkerAccessConfiguration?: unknown;
    }) {
      const request: Record<string, unknown> = {};
      if (input.MemberDefinitions) request.MemberDefinitions = input.MemberDefinitions;
      if (input.NotificationConfiguration)
        request.NotificationConfiguration = input.NotificationConfiguration;
      if (input.WorkerAccessConfiguration)
        request.WorkerAccessConfiguration = input.WorkerAccessConfiguration;
      const team = await labeling.workteams.update(input.WorkteamName, {
        description: input.Description,
        memberGroups: input.MemberDefinitions
          ? groupsOfMembers(input.MemberDefinitions)
          : undefined,
        request,
      });
      return { Workteam: workteamToWire(team, workforceArn(), deps.portalUrl) };
    },
    async DeleteWorkteam(input: { WorkteamName: string }) {
      await labeling.deleteWorkteam(input.WorkteamName);
      return { Success: true };
    },
    async ListWorkteams(input: ListInput) {
      const q = listQueryFrom(
        { ...input, SortBy: input.SortBy === 'CreateDate' ? 'CreationTime' : input.SortBy },
        { sortBy: 'creationTime', sortOrder: 'asc' },
      );
      const page = await labeling.workteams.list(q);
      return compact({
        Workteams: page.items.map((t) => workteamToWire(t, workforceArn(), deps.portalUrl)),
        NextToken: encodeNextToken(page.nextOffset),
      });
    },

    async CreateLabelingJob(input: CreateLabelingJobInput) {
      const manifest = input.InputConfig.DataSource.S3DataSource?.ManifestS3Uri;
      if (!manifest) {
        throw validation(
          'InputConfig.DataSource.S3DataSource.ManifestS3Uri is required: Apiary runs static labeling jobs from a manifest (streaming SNS jobs are not supported)',
        );
      }
      const hc = input.HumanTaskConfig;
      const job = await labeling.createJob({
        name: input.LabelingJobName,
        labelAttributeName: input.LabelAttributeName,
        manifestUri: manifest,
        outputPath: input.OutputConfig.S3OutputPath,
        labelCategoryConfigUri: input.LabelCategoryConfigS3Uri,
        workteamArn: hc.WorkteamArn,
        uiTemplateUri: hc.UiConfig.UiTemplateS3Uri,
        humanTaskUiArn: hc.UiConfig.HumanTaskUiArn,
        preHumanTaskLambdaArn: hc.PreHumanTaskLambdaArn,
        consolidationLambdaArn: hc.AnnotationConsolidationConfig?.AnnotationConsolidationLambdaArn,
        taskTitle: hc.TaskTitle,
        taskDescription: hc.TaskDescription,
        workersPerObject: hc.NumberOfHumanWorkersPerDataObject,
        taskTimeLimitSeconds: hc.TaskTimeLimitInSeconds,
        availabilityLifetimeSeconds: hc.TaskAvailabilityLifetimeInSeconds,
        maxConcurrentTaskCount: hc.MaxConcurrentTaskCount,
        maxHumanLabeledObjectCount: input.StoppingConditions?.MaxHumanLabeledObjectCount,
        maxPercentageOfInputDatasetLabeled:
          input.StoppingConditions?.MaxPercentageOfInputDatasetLabeled,
        algorithmsConfig: input.LabelingJobAlgorithmsConfig,
        request: input as unknown as Record<string, unknown>,
        tags: tagsFromWire(input.Tags),
      });
      return { LabelingJobArn: job.arn };
    },
    async DescribeLabelingJob(input: { LabelingJobName: string }) {
      const job = await labeling.getJob(input.LabelingJobName);
      return compact({
        ...job.request,
        LabelingJobStatus: job.status,
        LabelCounters: countersToWire(await labeling.counters(job.name)),
        FailureReason: job.failureReason,
        CreationTime: toEpochSeconds(job.createdAtMs),
        LastModifiedTime: toEpochSeconds(job.lastModifiedMs),
        JobReferenceCode: job.jobReferenceCode,
        LabelingJobName: job.name,
        LabelingJobArn: job.arn,
        Tags: await tags.list(job.arn).then((t) => t.map((x) => ({ Key: x.key, Value: x.value }))),
        LabelingJobOutput: await outputOf(job),
      });
    },
    async ListLabelingJobs(input: ListInput) {
      const page = await labeling.listJobs(
        listQueryFrom(input, { sortBy: 'creationTime', sortOrder: 'asc' }),
      );
      const items = [];
      for (const job of page.items) {
        const r = job.request as unknown as CreateLabelingJobInput;
        items.push(
          compact({
            LabelingJobName: job.name,
            LabelingJobArn: job.arn,
            CreationTime: toEpochSeconds(job.createdAtMs),
            LastModifiedTime: toEpochSeconds(job.lastModifiedMs),
            LabelingJobStatus: job.status,
            LabelCounters: countersToWire(await labeling.counters(job.name)),
            WorkteamArn: job.workteamArn,
            PreHumanTaskLambdaArn: r.HumanTaskConfig?.PreHumanTaskLambdaArn,
            AnnotationConsolidationLambdaArn:
              r.HumanTaskConfig?.AnnotationConsolidationConfig?.AnnotationConsolidationLambdaArn,
            FailureReason: job.failureReason,
            LabelingJobOutput: await outputOf(job),
            InputConfig: r.InputConfig,
          }),
        );
      }
      return compact({
        LabelingJobSummaryList: items,
        NextToken: encodeNextToken(page.nextOffset),
      });
    },
    async ListLabelingJobsForWorkteam(
      input: ListInput & { WorkteamArn: string; JobReferenceCodeContains?: string },
    ) {
      const team = await labeling.workteams.findByArn(input.WorkteamArn);
      if (!team) throw notFound(`Could not find workteam "${input.WorkteamArn}".`);
      const page = await labeling.listJobs(
        listQueryFrom(
          { ...input, SortBy: 'CreationTime' },
          { sortBy: 'creationTime', sortOrder: 'desc' },
        ),
        team.arn,
      );
      const items = [];
      for (const job of page.items) {
        if (
          input.JobReferenceCodeContains &&
          !job.jobReferenceCode.includes(input.JobReferenceCodeContains)
        )
          continue;
        const c = await labeling.counters(job.name);
        items.push({
          LabelingJobName: job.name,
          JobReferenceCode: job.jobReferenceCode,
          WorkRequesterAccountId: job.arn.split(':')[4]!,
          CreationTime: toEpochSeconds(job.createdAtMs),
          LabelCounters: {
            HumanLabeled: c.humanLabeled,
            PendingHuman: await labeling.pendingHuman(job.name),
            Total: job.objectCount,
          },
          NumberOfHumanWorkersPerDataObject: job.spec.workersPerObject,
        });
      }
      return compact({
        LabelingJobSummaryList: items,
        NextToken: encodeNextToken(page.nextOffset),
      });
    },
    async StopLabelingJob(input: { LabelingJobName: string }) {
      await labeling.stopJob(input.LabelingJobName);
      return {};
    },
  };
}

const validation = (m: string) => new AppError(ErrorCodes.Validation, m);
const notFound = (m: string) => new AppError(ErrorCodes.NotFound, m);
