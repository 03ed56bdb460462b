import type {
  Hosting,
  ModelContainer,
  ModelRecord,
  EndpointConfigRecord,
  EndpointRecord,
  VariantSpec,
  VariantState,
} from '../../hosting/index.js';
import type { OperationTable } from './protocol.js';
import { tagsFromWire } from './tags.js';
import { compact, encodeNextToken, listQueryFrom, toEpochSeconds, type ListInput } from './wire.js';

/** SageMaker wire shapes ⇄ the hosting context, one function per operation. */

interface WireContainer {
  Image?: string;
  ModelDataUrl?: string;
  Environment?: Record<string, string>;
  Mode?: 'SingleModel' | 'MultiModel';
  ContainerHostname?: string;
}

const containerFromWire = (c: WireContainer): ModelContainer => ({
  image: c.Image,
  modelDataUrl: c.ModelDataUrl,
  environment: c.Environment ?? {},
  mode: c.Mode ?? 'SingleModel',
  hostname: c.ContainerHostname,
});

const describeModel = (m: ModelRecord) =>
  compact({
    ...m.request,
    Tags: undefined,
    ModelName: m.name,
    ModelArn: m.arn,
    CreationTime: toEpochSeconds(m.createdAtMs),
  });

const describeConfig = (c: EndpointConfigRecord) =>
  compact({
    ...c.request,
    Tags: undefined,
    EndpointConfigName: c.name,
    EndpointConfigArn: c.arn,
    CreationTime: toEpochSeconds(c.createdAtMs),
  });

const variantSummary = (v: VariantState, status: string) =>
  compact({
    VariantName: v.variantName,
    DeployedImages: v.image ? [{ SpecifiedImage: v.image, ResolvedImage: v.image }] : undefined,
    CurrentWeight: status === 'Creating' ? undefined : v.currentWeight,
    DesiredWeight: v.desiredWeight,
    CurrentInstanceCount: status === 'Creating' ? undefined : v.currentInstanceCount,
    DesiredInstanceCount: v.desiredInstanceCount,
    VariantStatus:
      status === 'Creating' || status === 'Updating' || status === 'Deleting'
        ? [{ Status: status, StartTime: undefined }].map((x) => compact(x))
        : undefined,
    CurrentServerlessConfig:
      v.serverless && status !== 'Creating' ? serverlessToWire(v.serverless) : undefined,
    DesiredServerlessConfig: v.serverless ? serverlessToWire(v.serverless) : undefined,
  });

const serverlessToWire = (s: { memorySizeInMB: number; maxConcurrency: number }) => ({
  MemorySizeInMB: s.memorySizeInMB,
  MaxConcurrency: s.maxConcurrency,
});

const describeEndpoint = (e: EndpointRecord, dataCapture?: Record<string, unknown>) =>
  compact({
    EndpointName: e.name,
    EndpointArn: e.arn,
    EndpointConfigName: e.configName,
    ProductionVariants: e.variants.filter((v) => !v.shadow).map((v) => variantSummary(v, e.status)),
    ShadowProductionVariants: e.variants.some((v) => v.shadow)
      ? e.variants.filter((v) => v.shadow).map((v) => variantSummary(v, e.status))
      : undefined,
    DataCaptureConfig: dataCapture,
    EndpointStatus: e.status,
    FailureReason: e.failureReason,
    CreationTime: toEpochSeconds(e.createdAtMs),
    LastModifiedTime: toEpochSeconds(e.lastModifiedMs),
    LastDeploymentConfig: e.lastDeploymentConfig,
    PendingDeploymentSummary: e.pending
      ? {
          EndpointConfigName: e.pending.configName,
          StartTime: toEpochSeconds(e.pending.startedAtMs),
          ProductionVariants: e.pending.variants.map((v) =>
            compact({
              VariantName: v.variantName,
              DeployedImages: v.image
                ? [{ SpecifiedImage: v.image, ResolvedImage: v.image }]
                : undefined,
              DesiredWeight: v.desiredWeight,
              DesiredInstanceCount: v.desiredInstanceCount,
              InstanceType: v.instanceType,
              // Creating while the new fleet starts, then ActivatingTraffic / Baking as it shifts.
              VariantStatus: [
                compact({
                  Status:
                    e.pending!.phase === undefined
                      ? 'Creating'
                      : e.pending!.phase === 'TerminationWait' || e.pending!.phase === 'Done'
                        ? 'Baking'
                        : e.pending!.phase,
                  StatusMessage:
                    e.pending!.newPercent === undefined
                      ? undefined
                      : `${e.pending!.newPercent}% of the traffic goes to the new fleet (${e.pending!.kind ?? 'ALL_AT_ONCE'}).`,
                }),
              ],
            }),
          ),
        }
      : undefined,
  });

interface WireVariant {
  VariantName: string;
  ModelName?: string;
  InitialInstanceCount?: number;
  InitialVariantWeight?: number;
  InstanceType?: string;
  ServerlessConfig?: { MemorySizeInMB: number; MaxConcurrency: number };
}

const variantFromWire = (v: WireVariant, shadow: boolean): VariantSpec => ({
  variantName: v.VariantName,
  modelName: v.ModelName ?? '',
  // A serverless variant has no instances to count: one is started on demand.
  initialInstanceCount: v.InitialInstanceCount ?? 1,
  initialVariantWeight: v.InitialVariantWeight ?? 1,
  instanceType: v.InstanceType,
  shadow: shadow || undefined,
  serverless: v.ServerlessConfig
    ? {
        memorySizeInMB: v.ServerlessConfig.MemorySizeInMB,
        maxConcurrency: v.ServerlessConfig.MaxConcurrency,
      }
    : undefined,
});

export function hostingOperations(deps: { hosting: Hosting }): OperationTable {
  const { hosting } = deps;
  return {
    async CreateModel(input: {
      ModelName: string;
      PrimaryContainer?: WireContainer;
      Containers?: WireContainer[];
      ExecutionRoleArn?: string;
      Tags?: { Key: string; Value?: string }[];
    }) {
      const containers = input.PrimaryContainer
        ? [containerFromWire(input.PrimaryContainer)]
        : (input.Containers ?? []).map(containerFromWire);
      const record = await hosting.createModel({
        name: input.ModelName,
        containers,
        executionRoleArn: input.ExecutionRoleArn,
        request: input as unknown as Record<string, unknown>,
        tags: tagsFromWire(input.Tags),
      });
      return { ModelArn: record.arn };
    },
    async DescribeModel(input: { ModelName: string }) {
      return describeModel(await hosting.models.get(input.ModelName));
    },
    async DeleteModel(input: { ModelName: string }) {
      await hosting.deleteModel(input.ModelName);
      return {};
    },
    async ListModels(input: ListInput) {
      const page = await hosting.models.list(
        listQueryFrom(input, { sortBy: 'creationTime', sortOrder: 'desc' }),
      );
      return compact({
        Models: page.items.map((m) => ({
          ModelName: m.name,
          ModelArn: m.arn,
          CreationTime: toEpochSeconds(m.createdAtMs),
        })),
        NextToken: encodeNextToken(page.nextOffset),
      });
    },
    async CreateEndpointConfig(input: {
      EndpointConfigName: string;
      ProductionVariants: WireVariant[];
      ShadowProductionVariants?: WireVariant[];
      DataCaptureConfig?: Record<string, unknown>;
      Tags?: { Key: string; Value?: string }[];
    }) {
      const record = await hosting.createEndpointConfig({
        name: input.EndpointConfigName,
        variants: [
          ...input.ProductionVariants.map((v) => variantFromWire(v, false)),
          ...(input.ShadowProductionVariants ?? []).map((v) => variantFromWire(v, true)),
        ],
        dataCapture: input.DataCaptureConfig,
        request: input as unknown as Record<string, unknown>,
        tags: tagsFromWire(input.Tags),
      });
      return { EndpointConfigArn: record.arn };
    },
    async DescribeEndpointConfig(input: { EndpointConfigName: string }) {
      return describeConfig(await hosting.endpointConfigs.get(input.EndpointConfigName));
    },
    async DeleteEndpointConfig(input: { EndpointConfigName: string }) {
      await hosting.deleteEndpointConfig(input.EndpointConfigName);
      return {};
    },
    async ListEndpointConfigs(input: ListInput) {
      const page = await hosting.endpointConfigs.list(
        listQueryFrom(input, { sortBy: 'creationTime', sortOrder: 'desc' }),
      );
      return compact({
        EndpointConfigs: page.items.map((c) => ({
          EndpointConfigName: c.name,
          EndpointConfigArn: c.arn,
          CreationTime: toEpochSeconds(c.createdAtMs),
        })),
        NextToken: encodeNextToken(page.nextOffset),
      });
    },
    async CreateEndpoint(input: {
      EndpointName: string;
      EndpointConfigName: string;
      DeploymentConfig?: Record<string, unknown>;
      Tags?: { Key: string; Value?: string }[];
    }) {
      const record = await hosting.createEndpoint({
        name: input.EndpointName,
        configName: input.EndpointConfigName,
        deploymentConfig: input.DeploymentConfig,
        request: input as unknown as Record<string, unknown>,
        tags: tagsFromWire(input.Tags),
      });
      return { EndpointArn: record.arn };
    },
    async DescribeEndpoint(input: { EndpointName: string }) {
      const e = await hosting.endpoints.get(input.EndpointName);
      return describeEndpoint(e, await hosting.dataCaptureSummary(e));
    },
    async DeleteEndpoint(input: { EndpointName: string }) {
      await hosting.deleteEndpoint(input.EndpointName);
      return {};
    },
    async ListEndpoints(input: ListInput) {
      const page = await hosting.endpoints.list(
        listQueryFrom(input, { sortBy: 'creationTime', sortOrder: 'desc' }),
      );
      return compact({
        Endpoints: page.items.map((e) => ({
          EndpointName: e.name,
          EndpointArn: e.arn,
          CreationTime: toEpochSeconds(e.createdAtMs),
          LastModifiedTime: toEpochSeconds(e.lastModifiedMs),
          EndpointStatus: e.status,
        })),
        NextToken: encodeNextToken(page.nextOffset),
      });
    },
    async UpdateEndpointWeightsAndCapacities(input: {
      EndpointName: string;
      DesiredWeightsAndCapacities: {
        VariantName: string;
        DesiredWeight?: number;
        DesiredInstanceCount?: number;
      }[];
    }) {
      const record = await hosting.updateWeightsAndCapacities(
        input.EndpointName,
        input.DesiredWeightsAndCapacities.map((d) => ({
          variantName: d.VariantName,
          weight: d.DesiredWeight,
          instanceCount: d.DesiredInstanceCount,
        })),
      );
      return { EndpointArn: record.arn };
    },
    async UpdateEndpoint(input: {
      EndpointName: string;
      EndpointConfigName: string;
      RetainAllVariantProperties?: boolean;
      ExcludeRetainedVariantProperties?: { VariantPropertyType: string }[];
      DeploymentConfig?: Record<string, unknown>;
      RetainDeploymentConfig?: boolean;
    }) {
      const record = await hosting.updateEndpoint({
        name: input.EndpointName,
        configName: input.EndpointConfigName,
        retainAllVariantProperties: input.RetainAllVariantProperties ?? false,
        excludeRetained: (input.ExcludeRetainedVariantProperties ?? []).map(
          (p) => p.VariantPropertyType,
        ),
        deploymentConfig: input.DeploymentConfig,
        retainDeploymentConfig: input.RetainDeploymentConfig ?? false,
      });
      return { EndpointArn: record.arn };
    },
  };
}
