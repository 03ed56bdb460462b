import type { IncomingHttpHeaders } from 'node:http';
import { AWS_JSON_ERRORS } from '../sagemaker/errors.js';
import { jsonErrorResponse } from '../sagemaker/protocol.js';
import { wireError } from '../error-catalog.js';
import { queryError, type QueryResponse } from './query-protocol.js';
import { QUERY_ERRORS } from './errors.js';

/**
 * Services Apiary does not implement answer in their own protocol, so the client's parser reads a
 * clear error instead of failing on the wrong format ("invalid XML received"). The protocol comes
 * from the request itself (JSON services send `X-Amz-Target` or an `application/x-amz-json`
 * body) and, for the XML ones, from botocore's service models: the query, EC2 and rest-xml
 * services by signing name. Everything else is rest-json. (A client that chose CBOR,
 * `smithy-rpc-v2-cbor`, gets the JSON error; Apiary writes no CBOR.)
 */

/** Signing names of AWS's query and EC2 protocol services (botocore 1.40's models). */
const QUERY_SERVICES: ReadonlySet<string> = new Set([
  'autoscaling',
  'cloudformation',
  'cloudsearch',
  'ec2',
  'elasticache',
  'elasticbeanstalk',
  'elasticloadbalancing',
  'iam',
  'importexport',
  'rds',
  'redshift',
  'sdb',
  'ses',
  'sns',
  'sts',
]);
/** Signing names of rest-xml services other than S3 (which Apiary serves). */
const REST_XML_SERVICES: ReadonlySet<string> = new Set(['cloudfront', 'route53']);

export type WireProtocol = 'json' | 'query' | 'rest-xml' | 'rest-json';

/** The protocol a signed request for `service` speaks. */
export function protocolOf(service: string, headers: IncomingHttpHeaders): WireProtocol {
  const contentType = String(headers['content-type'] ?? '');
  if (headers['x-amz-target'] !== undefined || contentType.startsWith('application/x-amz-json'))
    return 'json';
  if (QUERY_SERVICES.has(service)) return 'query';
  if (REST_XML_SERVICES.has(service)) return 'rest-xml';
  if (contentType.startsWith('application/x-www-form-urlencoded')) return 'query';
  return 'rest-json';
}

/** What Apiary serves, for the message of a request to anything else. */
const SERVED =
  'Apiary serves SageMaker (control plane and runtime), S3, CloudWatch Logs, IAM roles and STS GetCallerIdentity';

/** The error a request to a service Apiary does not implement gets, in that service's protocol. */
export function unknownServiceResponse(
  service: string,
  protocol: WireProtocol,
  operation: string | undefined,
  requestId: string,
): QueryResponse {
  const what = operation ? `${service} ${operation}` : `the ${service} service`;
  const message = `Apiary does not implement ${what}. ${SERVED}.`;
  if (protocol === 'query' || protocol === 'rest-xml') {
    return queryError(QUERY_ERRORS, 'InvalidAction', message, requestId);
  }
  return jsonErrorResponse(
    wireError(AWS_JSON_ERRORS, 'UnknownOperationException', message),
    requestId,
  );
}
