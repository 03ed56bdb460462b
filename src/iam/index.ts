export {
  IamError,
  IamErrorCodes,
  iamMigrations,
  RoleRepository,
  createRoleRepository,
  roleNameOfArn,
  ROLE_NAME_PATTERN,
} from './roles.js';
export type { CreateRoleInput, IamErrorCode, RoleRecord, RolesTable, RoleTag } from './roles.js';
