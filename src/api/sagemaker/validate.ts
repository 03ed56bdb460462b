import type { ServiceModel, Shape, ShapeRef } from '../service-model.js';

/**
 * Validates a JSON request against the service model: required members, types, enums, patterns,
 * lengths and ranges. Messages follow SageMaker's wording, e.g.
 * `Value '../x' at 'modelName' failed to satisfy constraint: Member must satisfy regular
 * expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`.
 * Unknown members are ignored (newer SDKs may send members this model does not know).
 */
export interface ValidationProblem {
  readonly kind: 'constraint' | 'type';
  readonly message: string;
}

const patternCache = new Map<string, RegExp | null>();

/** Java-flavoured patterns of the model as full-match JavaScript regexes (null if untranslatable). */
export function compilePattern(pattern: string): RegExp | null {
  if (patternCache.has(pattern)) return patternCache.get(pattern)!;
  const translated = pattern
    .replace(/\\p\{Alnum\}/g, 'A-Za-z0-9')
    .replace(/\\p\{Print\}/g, '\\x20-\\x7E')
    .replace(/\\p\{Graph\}/g, '\\x21-\\x7E')
    .replace(/\\p\{Punct\}/g, '!-\\/:-@\\[-`{-~')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$');
  let re: RegExp | null = null;
  for (const flags of ['u', '']) {
    try {
      re = new RegExp(`^(?:${translated})$`, flags);
      break;
    } catch {
      re = null;
    }
  }
  patternCache.set(pattern, re);
  return re;
}

const displayPattern = (p: string): string =>
  (p.startsWith('^') ? p : '^' + p) + (p.endsWith('$') ? '' : '$');

const camel = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

function show(value: unknown): string {
  if (typeof value === 'string') return value.length > 256 ? value.slice(0, 256) + '…' : value;
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 256 ? json.slice(0, 256) + '…' : json;
}

function typeName(shape: Shape): string {
  switch (shape.type) {
    case 'structure':
      return 'an object';
    case 'list':
      return 'a list';
    case 'map':
      return 'a map of strings';
    case 'integer':
    case 'long':
      return 'an integer';
    case 'float':
    case 'double':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'timestamp':
      return 'a timestamp (epoch seconds)';
    case 'string':
    case 'blob':
      return 'a string';
  }
}

export function validateInput(
  model: ServiceModel,
  shapeName: string,
  value: unknown,
  maxProblems = 20,
): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const constraint = (path: string, v: unknown, what: string): void => {
    problems.push({
      kind: 'constraint',
      message: `Value '${show(v)}' at '${path}' failed to satisfy constraint: ${what}`,
    });
  };
  const walk = (ref: ShapeRef, v: unknown, path: string): void => {
    if (problems.length >= maxProblems) return;
    const shape = model.shapes[ref.shape];
    if (!shape || v === undefined || v === null) return;
    switch (shape.type) {
      case 'structure': {
        if (typeof v !== 'object' || Array.isArray(v)) {
          problems.push({
            kind: 'type',
            message: `'${path || 'request'}' must be ${typeName(shape)}`,
          });
          return;
        }
        const obj = v as Record<string, unknown>;
        for (const req of shape.required ?? []) {
          if (obj[req] === undefined || obj[req] === null) {
            constraint(
              path ? `${path}.${camel(req)}` : camel(req),
              null,
              'Member must not be null',
            );
          }
        }
        for (const [name, member] of Object.entries(shape.members ?? {})) {
          if (name in obj) walk(member, obj[name], path ? `${path}.${camel(name)}` : camel(name));
        }
        return;
      }
      case 'list': {
        if (!Array.isArray(v)) {
          problems.push({ kind: 'type', message: `'${path}' must be ${typeName(shape)}` });
          return;
        }
        if (shape.min !== undefined && v.length < shape.min) {
          constraint(path, v, `Member must have length greater than or equal to ${shape.min}`);
        }
        if (shape.max !== undefined && v.length > shape.max) {
          constraint(path, v, `Member must have length less than or equal to ${shape.max}`);
        }
        v.forEach((item, i) => walk(shape.member!, item, `${path}.${i + 1}.member`));
        return;
      }
      case 'map': {
        if (typeof v !== 'object' || Array.isArray(v)) {
          problems.push({ kind: 'type', message: `'${path}' must be ${typeName(shape)}` });
          return;
        }
        const entries = Object.entries(v as Record<string, unknown>);
        if (shape.min !== undefined && entries.length < shape.min) {
          constraint(path, v, `Member must have length greater than or equal to ${shape.min}`);
        }
        if (shape.max !== undefined && entries.length > shape.max) {
          constraint(path, v, `Member must have length less than or equal to ${shape.max}`);
        }
        for (const [k, item] of entries) {
          if (shape.key) walk(shape.key, k, `${path}.key`);
          walk(shape.value!, item, `${path}.${k}`);
        }
        return;
      }
      case 'string': {
        if (typeof v !== 'string') {
          problems.push({ kind: 'type', message: `'${path}' must be ${typeName(shape)}` });
          return;
        }
        if (shape.enum && !shape.enum.includes(v)) {
          constraint(path, v, `Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
          return;
        }
        // Lengths count code points, as the service does, not UTF-16 units.
        // oxlint-disable-next-line typescript/no-misused-spread
        const length = [...v].length;
        if (shape.min !== undefined && length < shape.min) {
          constraint(path, v, `Member must have length greater than or equal to ${shape.min}`);
          return;
        }
        if (shape.max !== undefined && length > shape.max) {
          constraint(path, v, `Member must have length less than or equal to ${shape.max}`);
          return;
        }
        if (shape.pattern) {
          const re = compilePattern(shape.pattern);
          if (re && !re.test(v)) {
            constraint(
              path,
              v,
              `Member must satisfy regular expression pattern: ${displayPattern(shape.pattern)}`,
            );
          }
        }
        return;
      }
      case 'integer':
      case 'long':
      case 'float':
      case 'double': {
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          problems.push({ kind: 'type', message: `'${path}' must be ${typeName(shape)}` });
          return;
        }
        if ((shape.type === 'integer' || shape.type === 'long') && !Number.isInteger(v)) {
          problems.push({ kind: 'type', message: `'${path}' must be ${typeName(shape)}` });
          return;
        }
        if (shape.min !== undefined && v < shape.min) {
          constraint(path, v, `Member must have value greater than or equal to ${shape.min}`);
        }
        if (shape.max !== undefined && v > shape.max) {
          constraint(path, v, `Member must have value less than or equal to ${shape.max}`);
        }
        return;
      }
      case 'boolean':
        if (typeof v !== 'boolean') {
          problems.push({ kind: 'type', message: `'${path}' must be ${typeName(shape)}` });
        }
        return;
      case 'timestamp':
        if (typeof v !== 'number' && (typeof v !== 'string' || Number.isNaN(Date.parse(v)))) {
          problems.push({ kind: 'type', message: `'${path}' must be ${typeName(shape)}` });
        }
        return;
      case 'blob':
        if (typeof v !== 'string') {
          problems.push({ kind: 'type', message: `'${path}' must be base64 text` });
        }
        return;
    }
  };
  walk({ shape: shapeName }, value, '');
  return problems;
}

/** SageMaker's summary line: `2 validation errors detected: …; …`. */
export function formatProblems(problems: readonly ValidationProblem[]): string {
  const n = problems.length;
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${problems.map((p) => p.message).join('; ')}`;
}

/** Maximum nesting of a JSON request; deeper bodies are rejected before parsing. */
export const MAX_JSON_DEPTH = 64;

/** Scans raw JSON for its nesting depth without parsing it (strings are skipped). */
export function jsonDepthExceeds(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}
