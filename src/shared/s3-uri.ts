import { validationError } from './errors.js';

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/**
 * Parses `s3://bucket/key`. Any other scheme (`file://`, `http://`, …) is rejected: Apiary only
 * reads and writes its own object store.
 * @throws AppError ValidationException naming the member and the value.
 */
export function parseS3Uri(uri: string, member = 'S3Uri'): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!m) {
    throw validationError(
      `${member} '${uri}' is not an S3 URI: expected s3://<bucket>/<key>; Apiary reads and writes only its own object store`,
    );
  }
  return { bucket: m[1]!, key: m[2] ?? '' };
}

export const formatS3Uri = (loc: S3Location): string => `s3://${loc.bucket}/${loc.key}`;
