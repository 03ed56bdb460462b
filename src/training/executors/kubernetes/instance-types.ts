import fs from 'node:fs';

/**
 * What a SageMaker instance type asks of a Kubernetes node: CPU and memory requests (and limits),
 * and GPUs as `nvidia.com/gpu`. The defaults follow AWS's published sizes for the families the
 * tutorials use; `APIARY_K8S_INSTANCE_TYPES` names a JSON file `{"ml.x.y": {"cpu": "4",
 * "memory": "16Gi", "gpu": 1}}` whose entries are added to (or replace) these.
 */
export interface InstanceResources {
  /** A Kubernetes CPU quantity ("2", "500m"). */
  readonly cpu: string;
  /** A Kubernetes memory quantity ("8Gi"). */
  readonly memory: string;
  /** Whole GPUs (`nvidia.com/gpu`); 0 or absent for CPU instances. */
  readonly gpu?: number;
}

const SIZES: Readonly<Record<string, [number, number]>> = {
  large: [2, 8],
  xlarge: [4, 16],
  '2xlarge': [8, 32],
  '4xlarge': [16, 64],
  '8xlarge': [32, 128],
  '12xlarge': [48, 192],
  '16xlarge': [64, 256],
};

function family(prefix: string, memPerCpu: number): Record<string, InstanceResources> {
  const out: Record<string, InstanceResources> = {};
  for (const [size, [cpu, mem]] of Object.entries(SIZES)) {
    out[`${prefix}.${size}`] = {
      cpu: String(cpu),
      memory: `${Math.round((mem / 4) * memPerCpu)}Gi`,
    };
  }
  return out;
}

/** The built-in table (m5: 4 GiB per vCPU, c5: 2, r5: 8; GPU families as AWS sizes them). */
export const DEFAULT_INSTANCE_TYPES: Readonly<Record<string, InstanceResources>> = {
  ...family('ml.m5', 4),
  ...family('ml.m4', 4),
  ...family('ml.c5', 2),
  ...family('ml.c4', 2),
  ...family('ml.r5', 8),
  'ml.t3.medium': { cpu: '2', memory: '4Gi' },
  'ml.p3.2xlarge': { cpu: '8', memory: '61Gi', gpu: 1 },
  'ml.p3.8xlarge': { cpu: '32', memory: '244Gi', gpu: 4 },
  'ml.p3.16xlarge': { cpu: '64', memory: '488Gi', gpu: 8 },
  'ml.p4d.24xlarge': { cpu: '96', memory: '1152Gi', gpu: 8 },
  'ml.g4dn.xlarge': { cpu: '4', memory: '16Gi', gpu: 1 },
  'ml.g4dn.2xlarge': { cpu: '8', memory: '32Gi', gpu: 1 },
  'ml.g4dn.12xlarge': { cpu: '48', memory: '192Gi', gpu: 4 },
  'ml.g5.xlarge': { cpu: '4', memory: '16Gi', gpu: 1 },
  'ml.g5.2xlarge': { cpu: '8', memory: '32Gi', gpu: 1 },
  'ml.g5.12xlarge': { cpu: '48', memory: '192Gi', gpu: 4 },
};

/** The table in force: the defaults plus the file's entries. @throws naming the file and entry. */
export function loadInstanceTypes(
  file: string | undefined,
): Readonly<Record<string, InstanceResources>> {
  if (!file) return DEFAULT_INSTANCE_TYPES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(
      `APIARY_K8S_INSTANCE_TYPES: cannot read ${file} as JSON (${(err as Error).message})`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(
      `APIARY_K8S_INSTANCE_TYPES: ${file} must hold an object {"ml.m5.large": {"cpu": "2", "memory": "8Gi"}}`,
    );
  }
  const out: Record<string, InstanceResources> = { ...DEFAULT_INSTANCE_TYPES };
  for (const [name, v] of Object.entries(parsed as Record<string, unknown>)) {
    const r = v as Partial<InstanceResources>;
    if (
      typeof r?.cpu !== 'string' ||
      typeof r.memory !== 'string' ||
      (r.gpu !== undefined && !Number.isInteger(r.gpu))
    ) {
      throw new Error(
        `APIARY_K8S_INSTANCE_TYPES: entry '${name}' in ${file} needs "cpu" and "memory" strings and an optional whole "gpu"`,
      );
    }
    out[name] = { cpu: r.cpu, memory: r.memory, ...(r.gpu ? { gpu: r.gpu } : {}) };
  }
  return out;
}

/** The resources of `instanceType`; undefined when the table has no such entry. */
export function resourcesFor(
  table: Readonly<Record<string, InstanceResources>>,
  instanceType: string,
): InstanceResources | undefined {
  return table[instanceType];
}
