import type { Command } from 'commander';
import { startModelServer } from '../hosting/index.js';

/**
 * `apiary serve-model [dir]`: the algorithm image's `serve` entry (SageMaker's serving contract
 * on SAGEMAKER_BIND_TO_PORT, default 8080) for a built-in detector's model.onnx + model.json.
 */
export function registerServeModelCommand(program: Command): void {
  program
    .command('serve-model [dir]')
    .description(
      "serve a built-in detector model directory on SageMaker's container contract (GET /ping, POST /invocations)",
    )
    .action(async (dir: string | undefined) => {
      const modelDir = dir ?? process.env.SM_MODEL_DIR ?? '/opt/ml/model';
      const port = Number(process.env.SAGEMAKER_BIND_TO_PORT ?? '8080');
      const server = await startModelServer({
        modelDir,
        port,
        log: (m) => process.stderr.write(`${m}\n`),
      });
      process.stdout.write(`serving ${modelDir} on port ${port}\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
