import { describe, expect, it } from 'vitest';
import { s3ActionOf } from './actions.js';
import {
  evaluateAccess,
  hasDeny,
  isPublic,
  MalformedPolicyError,
  parseBucketPolicy,
} from './policy.js';
import type { Principal } from './principal.js';

const ACCT = '123456789012';
const root: Principal = { kind: 'root' };
const admin: Principal = { kind: 'user', username: 'ada', role: 'admin', accessKeyId: 'AKIAADA' };
const worker: Principal = { kind: 'user', username: 'wil', role: 'worker', accessKeyId: 'AKIAWIL' };
const anon: Principal = { kind: 'anonymous' };
const arnOf = (p: Principal): string | undefined =>
  p.kind === 'user'
    ? `arn:aws:iam::${ACCT}:user/${p.username}`
    : p.kind === 'anonymous'
      ? undefined
      : `arn:aws:iam::${ACCT}:root`;

const policy = (...Statement: unknown[]) =>
  parseBucketPolicy(JSON.stringify({ Version: '2012-10-17', Statement }), 'b', ACCT);

const publicRead = policy({
  Effect: 'Allow',
  Principal: '*',
  Action: 's3:GetObject',
  Resource: 'arn:aws:s3:::b/public/*',
});
const denyAda = policy({
  Effect: 'Deny',
  Principal: { AWS: `arn:aws:iam::${ACCT}:user/ada` },
  Action: 's3:*',
  Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'],
});
const wilReadsData = policy(
  {
    Effect: 'Allow',
    Principal: { AWS: [`arn:aws:iam::${ACCT}:user/wil`] },
    Action: 's3:Get*',
    Resource: 'arn:aws:s3:::b/data/*',
  },
  {
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${ACCT}:user/wil` },
    Action: 's3:ListBucket',
    Resource: 'arn:aws:s3:::b',
    Condition: { StringLike: { 's3:prefix': 'data/*' } },
  },
);
const fromLan = policy({
  Effect: 'Allow',
  Principal: { AWS: '*' },
  Action: 's3:GetObject',
  Resource: 'arn:aws:s3:::b/*',
  Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32'] } },
});
const denyAccount = policy({
  Effect: 'Deny',
  Principal: { AWS: ACCT },
  Action: 's3:DeleteObject',
  Resource: 'arn:aws:s3:::b/*',
});

describe('evaluateAccess', () => {
  const cases: [
    string,
    Principal,
    string,
    string,
    ReturnType<typeof policy> | undefined,
    string,
    { ip?: string; acl?: boolean }?,
  ][] = [
    ['root with no policy', root, 'GET', 'x', undefined, 'allow'],
    [
      'root denied by the account principal (AWS)',
      root,
      'DELETE',
      'x',
      denyAccount,
      'explicit-deny',
    ],
    ['root: a Deny of another action', root, 'GET', 'x', denyAccount, 'allow'],
    ['root: a Deny naming a user', root, 'GET', 'x', denyAda, 'allow'],
    ['root: an Allow to others changes nothing', root, 'PUT', 'public/a', publicRead, 'allow'],
    ['admin with no policy', admin, 'PUT', 'x', undefined, 'allow'],
    ['worker with no policy', worker, 'GET', 'x', undefined, 'implicit-deny'],
    ['anonymous with no policy', anon, 'GET', 'public/a', undefined, 'implicit-deny'],
    ['anonymous GET of public/*', anon, 'GET', 'public/a', publicRead, 'allow'],
    ['anonymous GET outside public/', anon, 'GET', 'secret/a', publicRead, 'implicit-deny'],
    ['anonymous PUT into public/', anon, 'PUT', 'public/a', publicRead, 'implicit-deny'],
    ['admin denied by name', admin, 'GET', 'x', denyAda, 'explicit-deny'],
    ['worker allowed one prefix', worker, 'GET', 'data/1', wilReadsData, 'allow'],
    ['worker outside the prefix', worker, 'GET', 'other/1', wilReadsData, 'implicit-deny'],
    ['worker cannot write the prefix', worker, 'PUT', 'data/1', wilReadsData, 'implicit-deny'],
    ['admin not named by a worker grant', admin, 'GET', 'data/1', wilReadsData, 'allow'],
    ['source ip in range', anon, 'GET', 'k', fromLan, 'allow', { ip: '10.1.2.3' }],
    ['mapped v4 address in range', anon, 'GET', 'k', fromLan, 'allow', { ip: '::ffff:10.1.2.3' }],
    ['v6 in range', anon, 'GET', 'k', fromLan, 'allow', { ip: '2001:db8::5' }],
    ['source ip out of range', anon, 'GET', 'k', fromLan, 'implicit-deny', { ip: '192.168.1.1' }],
    ['account Deny covers an admin', admin, 'DELETE', 'k', denyAccount, 'explicit-deny'],
    [
      'account Deny covers a notebook',
      { kind: 'notebook', accessKeyId: 'X' },
      'DELETE',
      'k',
      denyAccount,
      'explicit-deny',
    ],
    ['account Deny leaves anonymous implicit', anon, 'DELETE', 'k', denyAccount, 'implicit-deny'],
    ['public-read ACL admits anonymous', anon, 'GET', 'k', undefined, 'allow', { acl: true }],
    ['Deny wins over the ACL', admin, 'GET', 'k', denyAda, 'explicit-deny', { acl: true }],
  ];
  it.each(cases)('%s', (_name, principal, method, key, pol, expected, extra) => {
    const a = s3ActionOf(method, 'b', key, new URLSearchParams());
    expect(
      evaluateAccess(
        { principal, principalArn: arnOf(principal), ...a, sourceIp: extra?.ip ?? '127.0.0.1' },
        pol,
        extra?.acl ?? false,
      ),
    ).toBe(expected);
  });

  it('ListBucket with an s3:prefix condition', () => {
    const list = (prefix: string | null) =>
      evaluateAccess(
        {
          principal: worker,
          principalArn: arnOf(worker),
          ...s3ActionOf('GET', 'b', '', new URLSearchParams(prefix === null ? '' : { prefix })),
        },
        wilReadsData,
      );
    expect(list('data/')).toBe('allow');
    expect(list('other/')).toBe('implicit-deny');
    expect(list(null)).toBe('implicit-deny');
  });

  it('…IfExists holds when the request has no such key', () => {
    const p = policy({
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'],
      Condition: { StringNotLikeIfExists: { 's3:prefix': 'ok/*' } },
    });
    const req = (method: string, key: string, q = '') => ({
      principal: admin,
      principalArn: arnOf(admin),
      ...s3ActionOf(method, 'b', key, new URLSearchParams(q)),
    });
    expect(evaluateAccess(req('GET', 'k'), p)).toBe('explicit-deny');
    expect(evaluateAccess(req('GET', '', 'prefix=ok/1'), p)).toBe('allow');
    expect(evaluateAccess(req('GET', '', 'prefix=no/'), p)).toBe('explicit-deny');
  });
});

describe('the root key', () => {
  const denyAll = policy({
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'],
  });
  const asRoot = (method: string, key: string, q: string, p = denyAll) =>
    evaluateAccess(
      {
        principal: root,
        principalArn: arnOf(root),
        ...s3ActionOf(method, 'b', key, new URLSearchParams(q)),
      },
      p,
    );
  it.each([
    ['GET', 'k', ''],
    ['PUT', 'k', ''],
    ['GET', '', ''],
    ['DELETE', '', ''],
    ['GET', '', 'policyStatus'],
    ['PUT', '', 'acl'],
  ])('a Deny s3:* refuses %s %s ?%s', (method, key, q) => {
    expect(asRoot(method, key, q)).toBe('explicit-deny');
  });
  it.each(['GET', 'PUT', 'DELETE'])('but never %s ?policy (root cannot lock itself out)', (m) => {
    expect(asRoot(m, '', 'policy')).toBe('allow');
  });
  it('hasDeny tells a policy that can refuse root', () => {
    expect(hasDeny(denyAll)).toBe(true);
    expect(hasDeny(publicRead)).toBe(false);
  });
});

describe('header-valued condition keys and Null', () => {
  // The policy most buckets carry: deny uploads that do not ask for encryption, or ask for a
  // public ACL, and copies from outside a prefix.
  const guarded = policy(
    {
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: 'arn:aws:s3:::b/*',
      Condition: { Null: { 's3:x-amz-server-side-encryption': true } },
    },
    {
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: 'arn:aws:s3:::b/*',
      Condition: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'AES256' } },
    },
    {
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: 'arn:aws:s3:::b/*',
      Condition: { StringLike: { 's3:x-amz-acl': 'public*' } },
    },
    {
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: 'arn:aws:s3:::b/*',
      // Both must hold: a copy (the key is present) from outside the prefix.
      Condition: {
        Null: { 's3:x-amz-copy-source': 'false' },
        StringNotLike: { 's3:x-amz-copy-source': 'src/public/*' },
      },
    },
  );
  const put = (headerKeys: Record<string, string>, who: Principal = admin) =>
    evaluateAccess(
      {
        principal: who,
        principalArn: arnOf(who),
        action: 's3:PutObject',
        resource: 'arn:aws:s3:::b/k',
        headerKeys,
      },
      guarded,
    );
  it.each([
    ['no encryption header', {}, 'explicit-deny'],
    ['SSE-S3', { 's3:x-amz-server-side-encryption': 'AES256' }, 'allow'],
    ['SSE-KMS', { 's3:x-amz-server-side-encryption': 'aws:kms' }, 'explicit-deny'],
    [
      'a public ACL',
      { 's3:x-amz-server-side-encryption': 'AES256', 's3:x-amz-acl': 'public-read' },
      'explicit-deny',
    ],
    [
      'a copy from the allowed prefix',
      { 's3:x-amz-server-side-encryption': 'AES256', 's3:x-amz-copy-source': 'src/public/a' },
      'allow',
    ],
    [
      'a copy from elsewhere',
      { 's3:x-amz-server-side-encryption': 'AES256', 's3:x-amz-copy-source': 'src/private/a' },
      'explicit-deny',
    ],
  ] as const)('%s', (_name, keys, expected) => {
    expect(put(keys)).toBe(expected);
    // The same conditions refuse the root key (AWS: a Principal "*" Deny covers root).
    expect(put(keys, root)).toBe(expected);
  });

  it('Null "false" holds when the key is present; Null takes true or false only', () => {
    const p = policy({
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: 'arn:aws:s3:::b/*',
      Condition: { Null: { 's3:x-amz-metadata-directive': 'false' } },
    });
    const req = (headerKeys: Record<string, string>) => ({
      principal: anon,
      action: 's3:PutObject',
      resource: 'arn:aws:s3:::b/k',
      headerKeys,
    });
    expect(evaluateAccess(req({ 's3:x-amz-metadata-directive': 'COPY' }), p)).toBe('allow');
    expect(evaluateAccess(req({}), p)).toBe('implicit-deny');
    expect(() =>
      policy({
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::b/*',
        Condition: { Null: { 's3:x-amz-acl': 'maybe' } },
      }),
    ).toThrow(/true or false/);
    expect(() =>
      policy({
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::b/*',
        Condition: { IpAddress: { 's3:x-amz-acl': '10.0.0.0/8' } },
      }),
    ).toThrow(/IpAddress/);
  });
});

describe('parseBucketPolicy refuses what S3 refuses, and what Apiary does not evaluate', () => {
  const malformed: [string, unknown, RegExp][] = [
    ['not JSON', 'nope', /valid JSON/],
    ['no Statement', { Version: '2012-10-17' }, /Statement/],
    [
      'bad effect',
      {
        Statement: [
          { Effect: 'Maybe', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' },
        ],
      },
      /effect/,
    ],
    [
      'no Principal',
      { Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] },
      /Principal/,
    ],
    [
      'other bucket',
      {
        Statement: [
          { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::c/*' },
        ],
      },
      /invalid resource/,
    ],
    [
      'non-S3 action',
      {
        Statement: [
          { Effect: 'Allow', Principal: '*', Action: 'sagemaker:*', Resource: 'arn:aws:s3:::b/*' },
        ],
      },
      /invalid action/,
    ],
    [
      'service principal',
      {
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'x' },
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::b/*',
          },
        ],
      },
      /Service/,
    ],
    [
      'foreign account',
      {
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: '999999999999' },
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::b/*',
          },
        ],
      },
      /account/,
    ],
    [
      'unsupported condition key',
      {
        Statement: [
          {
            Effect: 'Allow',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::b/*',
            Condition: { Bool: { 'aws:SecureTransport': 'true' } },
          },
        ],
      },
      /Bool/,
    ],
    [
      'unsupported condition key under a known operator',
      {
        Statement: [
          {
            Effect: 'Allow',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::b/*',
            Condition: { StringEquals: { 'aws:Referer': 'x' } },
          },
        ],
      },
      /aws:Referer/,
    ],
    [
      'bad CIDR',
      {
        Statement: [
          {
            Effect: 'Allow',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::b/*',
            Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/99' } },
          },
        ],
      },
      /CIDR/,
    ],
    [
      'NotPrincipal',
      {
        Statement: [
          {
            Effect: 'Deny',
            NotPrincipal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::b/*',
          },
        ],
      },
      /NotPrincipal/,
    ],
  ];
  it.each(malformed)('%s', (_name, doc, message) => {
    const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
    expect(() => parseBucketPolicy(text, 'b', ACCT)).toThrow(MalformedPolicyError);
    expect(() => parseBucketPolicy(text, 'b', ACCT)).toThrow(message);
  });

  it('public: an Allow to everyone not limited by address', () => {
    expect(isPublic(publicRead)).toBe(true);
    expect(isPublic(fromLan)).toBe(false);
    expect(isPublic(wilReadsData)).toBe(false);
  });
});
