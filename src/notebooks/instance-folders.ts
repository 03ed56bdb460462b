import fs from 'node:fs';
import path from 'node:path';
import { dirBytes, type InstanceDirs } from './sandbox.js';

/**
 * Readies an instance's folders before it starts: volume, metadata (SageMaker's
 * `resource-metadata.json`), run folder with an SDK admin config, a fresh socket path, and a
 * start line in its log with the volume's use. VolumeSizeInGB is reported, not enforced: the volume
 * is a folder of the host's disk. @returns whether the volume holds more than its size.
 */
export function prepareInstanceFolders(
  dirs: InstanceDirs,
  rec: {
    readonly name: string;
    readonly arn: string;
    readonly roleArn: string;
    readonly volumeSizeInGb: number;
  },
  nowMs: number,
): { readonly overQuota: boolean; readonly usedBytes: number } {
  for (const d of [dirs.volume, dirs.metadata, dirs.run]) fs.mkdirSync(d, { recursive: true });
  fs.rmSync(dirs.socket, { force: true });
  fs.writeFileSync(
    path.join(dirs.metadata, 'resource-metadata.json'),
    JSON.stringify({ ResourceArn: rec.arn, ResourceName: rec.name, ExecutionRoleArn: rec.roleArn }),
  );
  // The SDK v2 sends telemetry to an AWS address the sandbox cannot resolve, and logs the
  // failure as an ERROR in the cell's output: opt out, as an administrator's config would.
  fs.writeFileSync(
    path.join(dirs.run, 'sagemaker-config.yaml'),
    "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n",
  );
  fs.appendFileSync(
    dirs.log,
    `== ${new Date(nowMs).toISOString()} starting notebook instance ${rec.name}\n`,
  );
  const used = dirBytes(dirs.volume);
  const overQuota = used > rec.volumeSizeInGb * 1024 ** 3;
  fs.appendFileSync(
    dirs.log,
    `== volume: ${(used / 1024 ** 3).toFixed(3)} of ${rec.volumeSizeInGb} GB used\n`,
  );
  if (overQuota) {
    fs.appendFileSync(
      dirs.log,
      `== WARNING: the volume holds more than VolumeSizeInGB (${rec.volumeSizeInGb} GB)\n`,
    );
  }
  return { overQuota, usedBytes: used };
}

/** Copies the tutorial notebooks into a new instance's volume (never over a file of the user's). */
export function copyTutorialNotebooks(fromDir: string, volume: string): void {
  if (!fs.existsSync(fromDir)) return;
  for (const f of fs.readdirSync(fromDir)) {
    if (f.endsWith('.ipynb') && !fs.existsSync(path.join(volume, f)))
      fs.copyFileSync(path.join(fromDir, f), path.join(volume, f));
  }
}
