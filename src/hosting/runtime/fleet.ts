// A running fleet and what it is built from, shared by the builder (fleet-builder.ts) and the
// router (serving.ts).
import fsp from 'node:fs/promises';
import type { ModelRecord } from '../models.js';
import type { ServerlessSpec } from './serverless.js';
import type { VariantServer } from './variant-server.js';
import { KubernetesVariant } from './kubernetes/kubernetes-variant.js';

/** What to deploy for one production variant. */
export interface VariantDeployment {
  readonly variantName: string;
  readonly model: ModelRecord;
  readonly instanceCount: number;
  readonly weight: number;
  /** A ShadowProductionVariant: gets a copy of the traffic, its answers are discarded. */
  readonly shadow?: boolean;
  readonly serverless?: ServerlessSpec;
  /** The variant's InstanceType (pod resources on Kubernetes). */
  readonly instanceType?: string;
}

/** One variant of a running fleet; its weight changes live. */
export interface LiveVariant {
  readonly name: string;
  weight: number;
  readonly server: VariantServer;
  readonly modelDir: string | undefined;
  readonly shadow?: boolean;
}

/** A running fleet: the variants of one endpoint (a blue/green update builds a second one). */
export class Fleet {
  constructor(
    readonly endpoint: string,
    readonly variants: readonly LiveVariant[],
  ) {}

  find(name: string): LiveVariant | undefined {
    return (
      this.variants.find((v) => v.name === name) ??
      this.variants.find((v) => v.name.toLowerCase() === name.toLowerCase())
    );
  }

  /** Stops routing and waits for requests in flight, leaving Kubernetes objects in place. */
  async detach(graceMs?: number): Promise<void> {
    await Promise.all(
      this.variants.map((v) =>
        v.server instanceof KubernetesVariant ? v.server.detach(graceMs) : v.server.stop(graceMs),
      ),
    );
  }

  async stop(graceMs?: number): Promise<void> {
    await Promise.all(
      this.variants.map(async (v) => {
        await v.server.stop(graceMs);
        if (v.modelDir) await fsp.rm(v.modelDir, { recursive: true, force: true });
      }),
    );
  }
}
