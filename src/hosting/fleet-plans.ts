import { AppError, ErrorCodes } from '../shared/errors.js';
import type { EndpointConfigRecord } from './endpoint-configs.js';
import type { VariantState } from './endpoints.js';
import type { ModelRepository } from './models.js';
import { DeployError } from './runtime/errors.js';
import type { VariantDeployment } from './runtime/fleet.js';

/** The variants of a config with their models. @throws ValidationException for a missing model. */
export async function planVariants(
  models: ModelRepository,
  config: EndpointConfigRecord,
): Promise<VariantState[]> {
  const states: VariantState[] = [];
  for (const v of config.variants) {
    const model = await models.find(v.modelName);
    if (!model) {
      throw new AppError(
        ErrorCodes.Validation,
        `Could not find model "${models.arnOf(v.modelName)}".`,
      );
    }
    states.push({
      variantName: v.variantName,
      modelName: model.name,
      currentWeight: v.initialVariantWeight,
      desiredWeight: v.initialVariantWeight,
      currentInstanceCount: 0,
      desiredInstanceCount: v.initialInstanceCount,
      instanceType: v.instanceType,
      image: model.containers[0]?.image,
      shadow: v.shadow,
      serverless: v.serverless,
    });
  }
  return states;
}

/**
 * What the serving runtime builds for these variants, at their desired or current weights and
 * counts. @throws DeployError when a model was deleted meanwhile.
 */
export async function variantDeployments(
  models: ModelRepository,
  states: readonly VariantState[],
  use: 'desired' | 'current',
): Promise<VariantDeployment[]> {
  const out: VariantDeployment[] = [];
  for (const s of states) {
    const model = await models.find(s.modelName);
    if (!model)
      throw new DeployError(
        `Could not find model "${models.arnOf(s.modelName)}"; it was deleted before the endpoint could use it.`,
      );
    out.push({
      variantName: s.variantName,
      model,
      instanceCount: use === 'desired' ? s.desiredInstanceCount : s.currentInstanceCount,
      instanceType: s.instanceType,
      weight: use === 'desired' ? s.desiredWeight : s.currentWeight,
      shadow: s.shadow,
      serverless: s.serverless,
    });
  }
  return out;
}

/** The variants once a deployment is done: current = desired (or the counts actually reached). */
export function settledVariants(
  states: readonly VariantState[],
  counts?: ReadonlyMap<string, number>,
): VariantState[] {
  return states.map((v) => ({
    ...v,
    currentWeight: v.desiredWeight,
    currentInstanceCount: counts?.get(v.variantName) ?? v.desiredInstanceCount,
  }));
}

/**
 * An endpoint's FailureReason for a failed deployment: the error's own message when it is meant
 * for the user, else a generic one (the details go to the server log).
 */
export function deploymentFailureReason(e: unknown, log: (msg: string) => void): string {
  if (e instanceof DeployError || e instanceof AppError) return e.message.slice(0, 1024);
  log(`endpoint deployment failed unexpectedly: ${(e as Error)?.stack ?? String(e)}`);
  return 'The endpoint could not be deployed because of an internal error; see the Apiary server log.';
}
