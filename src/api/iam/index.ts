import type { FastifyReply, FastifyRequest } from 'fastify';
import { IamError, type RoleRepository } from '../../iam/index.js';
import { BodyTooLargeError, readBody } from '../http.js';
import { internalErrorMessage } from '../error-catalog.js';
import { EMPTY_SHA256, sha256Hex, SigV4Error, type SigV4Auth } from '../sigv4/index.js';
import { IAM_ERRORS, queryAuthError, QUERY_ERRORS, STS_ERRORS } from './errors.js';
import { iamOperations, QueryApiError, type QueryOperation } from './iam-ops.js';
import { stsOperations } from './sts-ops.js';
import { accessKeyOperations } from './access-key-ops.js';
import type { AccessKeys } from '../../identity/index.js';
import { principalArn, type Principal } from '../../objects/index.js';
import { protocolOf, unknownServiceResponse } from './other-services.js';
import { QueryParams, queryError, queryResult, type QueryResponse } from './query-protocol.js';
import { jsonAuthError } from '../auth.js';
import { AWS_JSON_ERRORS } from '../sagemaker/errors.js';
import { jsonErrorResponse } from '../sagemaker/protocol.js';
import { wireError } from '../error-catalog.js';

export { QUERY_ERRORS, IAM_ERRORS, STS_ERRORS } from './errors.js';
export { protocolOf } from './other-services.js';

const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/** Query requests are small forms; IAM's largest documents are policies of a few KiB. */
const MAX_QUERY_BODY_BYTES = 1024 * 1024;

export interface OtherServicesDeps {
  readonly roles: RoleRepository;
  readonly accountId: string;
  readonly onInternalError: (err: unknown, requestId: string) => void;
  /** Console users' access keys (IAM's CreateAccessKey etc.); absent: those actions are not served. */
  readonly accessKeys?: AccessKeys;
  /** Who signs with an access key (default: root). */
  readonly principalOf?: (accessKeyId: string) => Principal;
}

/**
 * Every signed request whose credential scope names neither S3, SageMaker nor CloudWatch Logs:
 * IAM and STS (query protocol, XML) are served; any other service answers an error in its own
 * protocol.
 */
export function createOtherServices(deps: OtherServicesDeps) {
  const iam = iamOperations({ roles: deps.roles, accountId: deps.accountId });
  const principalOf = deps.principalOf ?? ((): Principal => ({ kind: 'root' }));
  const sts = stsOperations({
    accountId: deps.accountId,
    callerOf: (id) => {
      const p = principalOf(id);
      return p.kind === 'user'
        ? { arn: principalArn(p, deps.accountId)!, userId: p.accessKeyId }
        : undefined;
    },
  });
  const keyOps = deps.accessKeys ? accessKeyOperations({ accessKeys: deps.accessKeys }) : undefined;

  const send = (reply: FastifyReply, r: QueryResponse): void => {
    void reply.code(r.status).headers(r.headers).send(r.body);
  };

  async function runQuery(
    service: 'iam' | 'sts',
    params: QueryParams,
    accessKeyId: string,
    requestId: string,
  ): Promise<QueryResponse> {
    const principal = principalOf(accessKeyId);
    const [ops, catalog, ns] =
      service === 'iam'
        ? ([{ ...iam, ...keyOps?.(principal) }, IAM_ERRORS, IAM_NS] as const)
        : ([sts(accessKeyId), STS_ERRORS, STS_NS] as const);
    const action = params.get('Action');
    if (!action) return queryError(catalog, 'MissingAction', undefined, requestId, ns);
    // Workers' keys may not use IAM (STS GetCallerIdentity needs no permission, as in AWS).
    if (service === 'iam' && principal.kind === 'user' && principal.role !== 'admin') {
      return queryError(
        IAM_ERRORS,
        'AccessDenied',
        `User: ${principalArn(principal, deps.accountId)} is not authorized to perform: iam:${action} (Apiary workers' keys may use S3 only)`,
        requestId,
        ns,
      );
    }
    const op: QueryOperation | undefined = Object.hasOwn(ops, action) ? ops[action] : undefined;
    if (!op) {
      return queryError(
        catalog,
        'InvalidAction',
        `Apiary's ${service.toUpperCase()} does not implement ${action}; it implements ${Object.keys(ops).join(', ')}.`,
        requestId,
        ns,
      );
    }
    try {
      return queryResult(action, ns, await op(params), requestId);
    } catch (err) {
      if (err instanceof IamError || err instanceof QueryApiError) {
        return queryError(IAM_ERRORS, err.code, err.message, requestId, ns);
      }
      deps.onInternalError(err, requestId);
      return queryError(catalog, 'InternalFailure', internalErrorMessage(requestId), requestId, ns);
    }
  }

  return {
    /**
     * Reads and verifies the request (the signature covers the body's hash), then answers it.
     * `verify` throws SigV4Error when the signature does not hold.
     */
    async handle(
      req: FastifyRequest,
      reply: FastifyReply,
      auth: SigV4Auth,
      verify: (payloadHash: string) => void,
    ): Promise<void> {
      const protocol = protocolOf(auth.service, req.headers);
      const xml = protocol === 'query' || protocol === 'rest-xml';
      let body: Buffer;
      try {
        body = await readBody(req.raw, MAX_QUERY_BODY_BYTES);
      } catch (err) {
        if (!(err instanceof BodyTooLargeError)) throw err;
        const message = `The request body is larger than ${MAX_QUERY_BODY_BYTES} bytes`;
        return send(
          reply,
          xml
            ? queryError(QUERY_ERRORS, 'PayloadTooLarge', message, req.id)
            : jsonErrorResponse(wireError(AWS_JSON_ERRORS, 'PayloadTooLarge', message), req.id),
        );
      }
      try {
        const declared = auth.contentSha256;
        const actual = body.length === 0 ? EMPTY_SHA256 : sha256Hex(body);
        if (declared && declared !== 'UNSIGNED-PAYLOAD' && declared !== actual) {
          throw new SigV4Error(
            'BadSignature',
            'The provided x-amz-content-sha256 header does not match what was computed.',
          );
        }
        verify(declared === 'UNSIGNED-PAYLOAD' ? declared : actual);
      } catch (err) {
        if (!(err instanceof SigV4Error)) throw err;
        if (xml) {
          const e = queryAuthError(err);
          return send(reply, queryError(QUERY_ERRORS, e.code, e.message, req.id));
        }
        const e = jsonAuthError(err);
        return send(
          reply,
          jsonErrorResponse(wireError(AWS_JSON_ERRORS, e.code, e.message), req.id),
        );
      }
      const path = (req.raw.url ?? '/').split('?')[0];
      if (
        (auth.service === 'iam' || auth.service === 'sts') &&
        protocol === 'query' &&
        path === '/'
      ) {
        return send(
          reply,
          await runQuery(
            auth.service,
            QueryParams.parse(req.raw.url ?? '/', body),
            auth.accessKeyId,
            req.id,
          ),
        );
      }
      const target = req.headers['x-amz-target'];
      const operation =
        typeof target === 'string'
          ? target.slice(target.lastIndexOf('.') + 1)
          : protocol === 'query'
            ? QueryParams.parse(req.raw.url ?? '/', body).get('Action')
            : `${req.method} ${path}`;
      return send(reply, unknownServiceResponse(auth.service, protocol, operation, req.id));
    },
  };
}
