import type { Hosting, ModelContainer, ModelRecord, EndpointConfigRecord } from '../../hosting/index.js';
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

interface WireVariant {
  VariantName: string;
  ModelName?: string;
  InitialInstanceCount?: number;
  InitialVariantWeight?: number;
  InstanceType?: string;
}

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
      Tags?: { Key: string; Value?: string }[];
    }) {
      const record = await hosting.createEndpointConfig({
        name: input.EndpointConfigName,
        variants: input.ProductionVariants.map((v) => ({
          variantName: v.VariantName,
          modelName: v.ModelName ?? '',
          initialInstanceCount: v.InitialInstanceCount ?? 1,
          initialVariantWeight: v.InitialVariantWeight ?? 1,
          instanceType: v.InstanceType,
        })),
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
  };
}
