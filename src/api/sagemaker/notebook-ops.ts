import type {
  LifecycleConfigRecord,
  NotebookInstanceRecord,
  Notebooks,
} from '../../notebooks/index.js';
import { notebookBasePath } from '../../notebooks/index.js';
import type { OperationTable } from './protocol.js';
import { tagsFromWire } from './tags.js';
import { compact, encodeNextToken, listQueryFrom, toEpochSeconds, type ListInput } from './wire.js';

/** SageMaker wire shapes ⇄ the notebooks context, one function per operation. */

interface WireHook {
  Content?: string;
}

const hooks = (list: readonly WireHook[] | undefined): string[] =>
  (list ?? []).map((h) => h.Content ?? '');
const hooksToWire = (list: readonly string[]): WireHook[] | undefined =>
  list.length === 0 ? undefined : list.map((c) => ({ Content: c }));

/** The instance's URL as SageMaker gives it: host and path, no scheme. */
const urlOf = (base: string, name: string): string =>
  `${base.replace(/^https?:\/\//, '')}${notebookBasePath(name)}`;

const describeInstance = (n: NotebookInstanceRecord, base: string) =>
  compact({
    NotebookInstanceArn: n.arn,
    NotebookInstanceName: n.name,
    NotebookInstanceStatus: n.status,
    FailureReason: n.failureReason,
    Url: urlOf(base, n.name),
    InstanceType: n.instanceType,
    RoleArn: n.roleArn,
    NotebookInstanceLifecycleConfigName: n.lifecycleConfigName,
    DirectInternetAccess: n.directInternetAccess,
    VolumeSizeInGB: n.volumeSizeInGb,
    RootAccess: n.rootAccess,
    PlatformIdentifier: n.platformIdentifier,
    LastModifiedTime: toEpochSeconds(n.lastModifiedMs),
    CreationTime: toEpochSeconds(n.createdAtMs),
  });

const describeConfig = (c: LifecycleConfigRecord) =>
  compact({
    NotebookInstanceLifecycleConfigArn: c.arn,
    NotebookInstanceLifecycleConfigName: c.name,
    OnCreate: hooksToWire(c.onCreate),
    OnStart: hooksToWire(c.onStart),
    LastModifiedTime: toEpochSeconds(c.lastModifiedMs),
    CreationTime: toEpochSeconds(c.createdAtMs),
  });

/**
 * The notebook instance operations. `publicUrl` is the address users reach Apiary at (the
 * presigned URL and `Url` are built on it).
 */
export function notebookOperations(deps: {
  notebooks: Notebooks;
  publicUrl: () => string;
}): OperationTable {
  const { notebooks } = deps;
  return {
    async CreateNotebookInstance(input: {
      NotebookInstanceName: string;
      InstanceType: string;
      RoleArn: string;
      LifecycleConfigName?: string;
      VolumeSizeInGB?: number;
      DirectInternetAccess?: string;
      RootAccess?: string;
      PlatformIdentifier?: string;
      Tags?: { Key: string; Value?: string }[];
    }) {
      const rec = await notebooks.create({
        name: input.NotebookInstanceName,
        instanceType: input.InstanceType,
        roleArn: input.RoleArn,
        lifecycleConfigName: input.LifecycleConfigName,
        volumeSizeInGb: input.VolumeSizeInGB,
        directInternetAccess: input.DirectInternetAccess,
        rootAccess: input.RootAccess,
        platformIdentifier: input.PlatformIdentifier,
        tags: tagsFromWire(input.Tags),
      });
      return { NotebookInstanceArn: rec.arn };
    },
    async DescribeNotebookInstance(input: { NotebookInstanceName: string }) {
      return describeInstance(
        await notebooks.instances.get(input.NotebookInstanceName),
        deps.publicUrl(),
      );
    },
    async ListNotebookInstances(
      input: ListInput & { NotebookInstanceLifecycleConfigNameContains?: string },
    ) {
      const page = await notebooks.list(
        listQueryFrom(input, { sortBy: 'name', sortOrder: 'asc' }),
        input.NotebookInstanceLifecycleConfigNameContains,
      );
      const base = deps.publicUrl();
      return compact({
        NotebookInstances: page.items.map((n) =>
          compact({
            NotebookInstanceName: n.name,
            NotebookInstanceArn: n.arn,
            NotebookInstanceStatus: n.status,
            Url: urlOf(base, n.name),
            InstanceType: n.instanceType,
            CreationTime: toEpochSeconds(n.createdAtMs),
            LastModifiedTime: toEpochSeconds(n.lastModifiedMs),
            NotebookInstanceLifecycleConfigName: n.lifecycleConfigName,
          }),
        ),
        NextToken: encodeNextToken(page.nextOffset),
      });
    },
    async StartNotebookInstance(input: { NotebookInstanceName: string }) {
      await notebooks.startInstance(input.NotebookInstanceName);
      return {};
    },
    async StopNotebookInstance(input: { NotebookInstanceName: string }) {
      await notebooks.stopInstance(input.NotebookInstanceName);
      return {};
    },
    async UpdateNotebookInstance(input: {
      NotebookInstanceName: string;
      InstanceType?: string;
      RoleArn?: string;
      LifecycleConfigName?: string;
      DisassociateLifecycleConfig?: boolean;
      VolumeSizeInGB?: number;
      RootAccess?: string;
    }) {
      await notebooks.update({
        name: input.NotebookInstanceName,
        instanceType: input.InstanceType,
        roleArn: input.RoleArn,
        lifecycleConfigName: input.LifecycleConfigName,
        disassociateLifecycleConfig: input.DisassociateLifecycleConfig,
        volumeSizeInGb: input.VolumeSizeInGB,
        rootAccess: input.RootAccess,
      });
      return {};
    },
    async DeleteNotebookInstance(input: { NotebookInstanceName: string }) {
      await notebooks.delete(input.NotebookInstanceName);
      return {};
    },
    async CreatePresignedNotebookInstanceUrl(input: {
      NotebookInstanceName: string;
      SessionExpirationDurationInSeconds?: number;
    }) {
      const { name, token } = await notebooks.presign(
        input.NotebookInstanceName,
        input.SessionExpirationDurationInSeconds ?? 43200,
      );
      return { AuthorizedUrl: `${deps.publicUrl()}${notebookBasePath(name)}?authToken=${token}` };
    },
    async CreateNotebookInstanceLifecycleConfig(input: {
      NotebookInstanceLifecycleConfigName: string;
      OnCreate?: WireHook[];
      OnStart?: WireHook[];
      Tags?: { Key: string; Value?: string }[];
    }) {
      const rec = await notebooks.lifecycleConfigs.create({
        name: input.NotebookInstanceLifecycleConfigName,
        onCreate: hooks(input.OnCreate),
        onStart: hooks(input.OnStart),
        tags: tagsFromWire(input.Tags),
      });
      return { NotebookInstanceLifecycleConfigArn: rec.arn };
    },
    async DescribeNotebookInstanceLifecycleConfig(input: {
      NotebookInstanceLifecycleConfigName: string;
    }) {
      return describeConfig(await notebooks.configs.get(input.NotebookInstanceLifecycleConfigName));
    },
    async ListNotebookInstanceLifecycleConfigs(input: ListInput) {
      const page = await notebooks.configs.list(
        listQueryFrom(input, { sortBy: 'creationTime', sortOrder: 'desc' }),
      );
      return compact({
        NotebookInstanceLifecycleConfigs: page.items.map((c) => ({
          NotebookInstanceLifecycleConfigName: c.name,
          NotebookInstanceLifecycleConfigArn: c.arn,
          CreationTime: toEpochSeconds(c.createdAtMs),
          LastModifiedTime: toEpochSeconds(c.lastModifiedMs),
        })),
        NextToken: encodeNextToken(page.nextOffset),
      });
    },
    async UpdateNotebookInstanceLifecycleConfig(input: {
      NotebookInstanceLifecycleConfigName: string;
      OnCreate?: WireHook[];
      OnStart?: WireHook[];
    }) {
      await notebooks.lifecycleConfigs.update({
        name: input.NotebookInstanceLifecycleConfigName,
        onCreate: input.OnCreate ? hooks(input.OnCreate) : undefined,
        onStart: input.OnStart ? hooks(input.OnStart) : undefined,
      });
      return {};
    },
    async DeleteNotebookInstanceLifecycleConfig(input: {
      NotebookInstanceLifecycleConfigName: string;
    }) {
      await notebooks.lifecycleConfigs.delete(input.NotebookInstanceLifecycleConfigName);
      return {};
    },
  };
}
