import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

/**
 * Loader for the official AWS service models (botocore's `service-2.json`, vendored unchanged in
 * `vendor/botocore/`). They are the exact contract the SDKs serialize against.
 */
export interface ShapeRef {
  readonly shape: string;
  readonly location?: string;
  readonly locationName?: string;
}

export interface Shape {
  readonly type:
    | 'structure'
    | 'list'
    | 'map'
    | 'string'
    | 'integer'
    | 'long'
    | 'float'
    | 'double'
    | 'boolean'
    | 'timestamp'
    | 'blob';
  readonly members?: Readonly<Record<string, ShapeRef>>;
  readonly required?: readonly string[];
  readonly member?: ShapeRef;
  readonly key?: ShapeRef;
  readonly value?: ShapeRef;
  readonly enum?: readonly string[];
  readonly pattern?: string;
  readonly min?: number;
  readonly max?: number;
  readonly union?: boolean;
  readonly exception?: boolean;
}

export interface Operation {
  readonly name: string;
  readonly input?: ShapeRef;
  readonly output?: ShapeRef;
  readonly errors?: readonly ShapeRef[];
}

export interface ServiceModel {
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly operations: Readonly<Record<string, Operation>>;
  readonly shapes: Readonly<Record<string, Shape>>;
}

function vendorDir(): string {
  // src/api/service-model.ts and dist/api/service-model.js both sit two levels under the root.
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '..', '..', 'vendor', 'botocore');
}

const cache = new Map<string, ServiceModel>();

/** Loads `vendor/botocore/<name>.service-2.json.gz` once. */
export function loadServiceModel(name: string): ServiceModel {
  let model = cache.get(name);
  if (!model) {
    const file = path.join(vendorDir(), `${name}.service-2.json.gz`);
    model = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8')) as ServiceModel;
    cache.set(name, model);
  }
  return model;
}
