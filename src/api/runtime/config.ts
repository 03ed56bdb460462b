import path from 'node:path';
import type { Settings } from '../../config/index.js';
import { APIARY_ROOT, DEFAULT_PYTHON, bubblewrapAvailable } from '../../shared/index.js';
import type { HostingServingConfig, ServingCommand } from '../../hosting/index.js';

const inside = (dir: string, p: string): boolean => p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');

/** The hosting runtime's configuration from settings (the composition root picks it). */
export function hostingServingConfig(settings: Settings, log: (msg: string) => void): HostingServingConfig {
  const pythonPath = settings.pythonPath || DEFAULT_PYTHON;
  const bwrap = settings.sandbox === 'bwrap' || (settings.sandbox === 'auto' && bubblewrapAvailable());
  // Said once the server is assembled (the logger comes with it).
  const warn = (msg: string): void => void setImmediate(() => log(msg));
  if (settings.sandbox === 'none') {
    warn('APIARY_SANDBOX=none: bring-your-own serving code runs unsandboxed and can read Apiary\'s data dir (credentials, database, objects)');
  } else if (!bwrap) {
    warn('bubblewrap (bwrap) is not available here: endpoints with bring-your-own serving code will be refused (install bubblewrap, or set APIARY_SANDBOX=none to run them unsandboxed)');
  }
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
    pythonPath,
    bwrap,
    allowUnsandboxed: settings.sandbox === 'none',
    // Serving code must not read the credentials, the database or the blobs (unless the
    // interpreter or Apiary itself lives inside the data dir).
    hiddenPaths: inside(settings.dataDir, pythonPath) || inside(settings.dataDir, APIARY_ROOT) ? [] : [settings.dataDir],
    createWaitMs: settings.endpointCreateWaitMs,
    multiModelBudgetBytes: settings.multiModelBudgetMb * 1024 * 1024,
    serverlessIdleMs: settings.serverlessIdleSeconds * 1000,
    log,
  };
}
