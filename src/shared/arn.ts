export interface ArnContext {
  readonly region: string;
  readonly accountId: string;
}

export type SageMakerResourceType =
  | 'training-job'
  | 'hyper-parameter-tuning-job'
  | 'labeling-job'
  | 'model'
  | 'endpoint-config'
  | 'endpoint'
  | 'transform-job'
  | 'workteam'
  | 'workforce'
  | 'notebook-instance'
  | 'notebook-instance-lifecycle-config';

/** `arn:aws:sagemaker:{region}:{account}:{type}/{lower-cased name}`, as SageMaker builds them. */
export function sagemakerArn(ctx: ArnContext, type: SageMakerResourceType, name: string): string {
  return `arn:aws:sagemaker:${ctx.region}:${ctx.accountId}:${type}/${name.toLowerCase()}`;
}

/** Parses a SageMaker ARN; returns undefined when it is not one. */
export function parseSagemakerArn(
  arn: string,
): { region: string; accountId: string; type: string; name: string } | undefined {
  const m = /^arn:aws[a-z-]*:sagemaker:([a-z0-9-]+):(\d{12}):([a-z-]+)\/(.+)$/.exec(arn);
  if (!m) return undefined;
  return { region: m[1]!, accountId: m[2]!, type: m[3]!, name: m[4]! };
}
