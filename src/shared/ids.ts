import { randomBytes, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

/** Lower-case hex of `bytes` random bytes. */
export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** SageMaker resource names: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`. */
export const RESOURCE_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
