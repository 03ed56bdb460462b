import fs from 'node:fs';
import path from 'node:path';
import type { Settings } from '../../config/index.js';
import { DEFAULT_PYTHON } from '../../shared/index.js';
import type { HostingServingConfig, ServingCommand } from '../../hosting/index.js';

/** The hosting runtime's configuration from settings (the composition root picks it). */
export function hostingServingConfig(settings: Settings, log: (msg: string) => void): HostingServingConfig {
  const servingImages = (settings.servingImages ? JSON.parse(settings.servingImages) : {}) as Record<string, ServingCommand>;
  return {
    workDir: path.join(settings.dataDir, 'hosting'),
    limits: {
      ortThreads: settings.ortThreads,
      maxBatch: settings.servingMaxBatch,
      maxBatchWaitMs: settings.servingMaxBatchWaitMs,
      queuePerInstance: settings.servingQueuePerInstance,
      maxInputPixels: settings.servingMaxInputPixels,
      startupTimeoutSeconds: settings.servingStartupTimeoutSeconds,
      invocationTimeoutSeconds: settings.servingInvocationTimeoutSeconds,
    },
    servingImages,
    pythonPath: settings.pythonPath || DEFAULT_PYTHON,
    bwrap: settings.sandbox === 'bwrap' || (settings.sandbox === 'auto' && fs.existsSync('/usr/bin/bwrap')),
    createWaitMs: settings.endpointCreateWaitMs,
    multiModelBudgetBytes: settings.multiModelBudgetMb * 1024 * 1024,
    serverlessIdleMs: settings.serverlessIdleSeconds * 1000,
    log,
  };
}
