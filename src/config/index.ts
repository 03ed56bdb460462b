export { loadSettings, DEFAULTS, SettingsError } from './settings.js';
export type { Settings, SandboxMode } from './settings.js';
export { loadRootCredentials } from './credentials.js';
export type { RootCredentials } from './credentials.js';
