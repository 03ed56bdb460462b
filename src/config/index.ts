export { loadSettings, DEFAULTS, SettingsError } from './settings.js';
export type { Settings, SandboxMode, BlobStoreSettings } from './settings.js';
export { loadRootCredentials } from './credentials.js';
export type { RootCredentials } from './credentials.js';
