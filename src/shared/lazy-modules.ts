import { createRequire } from 'node:module';
import type * as KubernetesClient from '@kubernetes/client-node';
import type * as AwsS3Client from '@aws-sdk/client-s3';
import type * as AwsS3Storage from '@aws-sdk/lib-storage';
import type Sharp from 'sharp';

/**
 * Heavy libraries that only some requests or settings need, loaded on first use instead of when
 * `apiary serve` starts (docs/readme/idle.md): each is tens of MiB of idle RSS for a server that
 * may never run a Kubernetes job, an S3 blob store, or a built-in endpoint. `require` (synchronous;
 * Node ≥ 22 loads ES modules this way too) keeps the callers' constructors synchronous; the module
 * is the same instance a static `import` of it elsewhere gets. Types come from `import type`, so
 * nothing here loads at startup.
 */
const load = createRequire(import.meta.url);

/** `@kubernetes/client-node` (≈ 46 MiB idle RSS, 0.6 s to load): Kubernetes executors and variants. */
export function kubernetesClient(): typeof KubernetesClient {
  return load('@kubernetes/client-node') as typeof KubernetesClient;
}

/** `@aws-sdk/client-s3` (≈ 6 MiB idle RSS with lib-storage): the S3 blob store. */
export function awsS3Client(): typeof AwsS3Client {
  return load('@aws-sdk/client-s3') as typeof AwsS3Client;
}

/** `@aws-sdk/lib-storage`: the S3 blob store's multipart uploads. */
export function awsS3Storage(): typeof AwsS3Storage {
  return load('@aws-sdk/lib-storage') as typeof AwsS3Storage;
}

/**
 * `sharp` (libvips, ≈ 10 MiB idle RSS): decoding images for built-in endpoints. Imported, not
 * required: sharp ships separate ESM and CommonJS builds, and the rest of Apiary imports the ESM one.
 */
export function sharpImages(): Promise<typeof Sharp> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}
let sharpModule: Promise<typeof Sharp> | undefined;
