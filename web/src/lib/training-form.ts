/** Channel rows of the create-training-job form (pure; unit-tested). */
export interface ChannelRow {
  name: string;
  dataType: string;
  uri: string;
  contentType: string;
  /** Comma-separated, AugmentedManifestFile only. */
  attributeNames: string;
  /** `None` or `RecordIO` (free text: passed through as the API's RecordWrapperType). */
  recordWrapper: string;
}

/** Problems of each channel row, keyed by index; the same rules CreateTrainingJob enforces. */
export function channelProblems(
  rows: readonly ChannelRow[],
  inputMode: string,
): Map<number, string> {
  const out = new Map<number, string>();
  const seen = new Set<string>();
  if (rows.length > 20) out.set(-1, 'A training job takes at most 20 channels.');
  rows.forEach((c, i) => {
    if (!/^[A-Za-z0-9.\-_]{1,64}$/.test(c.name))
      return void out.set(
        i,
        'Channel names use 1-64 letters, digits, dots, hyphens and underscores.',
      );
    if (seen.has(c.name)) return void out.set(i, `Channel ${c.name} appears twice.`);
    seen.add(c.name);
    if (!/^s3:\/\/[^/]+(\/.*)?$/.test(c.uri.trim()))
      return void out.set(i, 'Enter an S3 URI such as s3://bucket/train/.');
    if (c.dataType === 'AugmentedManifestFile') {
      const names = c.attributeNames
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (names.length === 0)
        return void out.set(
          i,
          'An augmented manifest needs attribute names, e.g. source-ref,bounding-box.',
        );
      if (names.length > 16) return void out.set(i, 'At most 16 attribute names.');
      if (inputMode !== 'Pipe')
        return void out.set(i, 'Augmented manifests are read in Pipe input mode.');
    }
    if (c.recordWrapper === 'RecordIO' && inputMode !== 'Pipe')
      return void out.set(i, 'RecordIO wrapping applies to Pipe input mode.');
  });
  return out;
}

/** A row as the wire's Channel shape. */
export function toChannel(c: ChannelRow): Record<string, unknown> {
  const names = c.attributeNames
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    ChannelName: c.name,
    DataSource: {
      S3DataSource: {
        S3DataType: c.dataType,
        S3Uri: c.uri.trim(),
        S3DataDistributionType: 'FullyReplicated',
        ...(c.dataType === 'AugmentedManifestFile' && names.length
          ? { AttributeNames: names }
          : {}),
      },
    },
    ...(c.contentType.trim() ? { ContentType: c.contentType.trim() } : {}),
    ...(c.recordWrapper === 'RecordIO' ? { RecordWrapperType: 'RecordIO' } : {}),
  };
}

/** A channel reading a Ground Truth augmented manifest as the built-in algorithm does (RecordIO, Pipe). */
export function manifestChannel(name: string, uri = ''): ChannelRow {
  return {
    name,
    dataType: 'AugmentedManifestFile',
    uri,
    contentType: 'application/x-recordio',
    attributeNames: 'source-ref,bounding-box',
    recordWrapper: 'RecordIO',
  };
}
