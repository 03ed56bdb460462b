import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Settings } from './settings.js';

/** The root access key pair SigV4 requests are signed with, and where it came from. */
export interface RootCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** True when they were generated just now (print them once). */
  readonly generated: boolean;
  /** Where they are kept, when they come from the data dir. */
  readonly file: string | undefined;
}

const FILE = 'credentials.json';

function generateKeyId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let id = 'AKAP';
  for (const b of randomBytes(16)) id += alphabet[b % alphabet.length];
  return id;
}

/**
 * The root credentials: from APIARY_ROOT_ACCESS_KEY_ID/SECRET when set; otherwise read from
 * `<dataDir>/credentials.json`, generated there (mode 0600) on first start.
 */
export function loadRootCredentials(
  settings: Settings,
  create = true,
): RootCredentials | undefined {
  if (settings.rootAccessKeyId && settings.rootSecretAccessKey) {
    return {
      accessKeyId: settings.rootAccessKeyId,
      secretAccessKey: settings.rootSecretAccessKey,
      generated: false,
      file: undefined,
    };
  }
  const file = path.join(settings.dataDir, FILE);
  if (fs.existsSync(file)) {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      accessKeyId: string;
      secretAccessKey: string;
    };
    return { ...parsed, generated: false, file };
  }
  if (!create) return undefined;
  fs.mkdirSync(settings.dataDir, { recursive: true });
  const creds = {
    accessKeyId: generateKeyId(),
    secretAccessKey: randomBytes(30).toString('base64').replace(/[+/=]/g, 'x').slice(0, 40),
  };
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
  return { ...creds, generated: true, file };
}
