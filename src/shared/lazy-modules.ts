import { createRequire } from 'node:module';

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
export function kubernetesClient(): typeof import('@kubernetes/client-node') {
  return load('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
}

/** `@aws-sdk/client-s3` (≈ 6 MiB idle RSS with lib-storage): the S3 blob store. */
export function awsS3Client(): typeof import('@aws-sdk/client-s3') {
  return load('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
}

/** `@aws-sdk/lib-storage`: the S3 blob store's multipart uploads. */
export function awsS3Storage(): typeof import('@aws-sdk/lib-storage') {
  return load('@aws-sdk/lib-storage') as typeof import('@aws-sdk/lib-storage');
}

/**
 * `sharp` (libvips, ≈ 10 MiB idle RSS): decoding images for built-in endpoints. Imported, not
 * required: sharp ships separate ESM and CommonJS builds, and the rest of Apiary imports the ESM one.
 */
export function sharpImages(): Promise<typeof import('sharp').default> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}
let sharpModule: Promise<typeof import('sharp').default> | undefined;
