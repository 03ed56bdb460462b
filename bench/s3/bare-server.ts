/**
 * The ceiling of `bench/s3`: the least an S3 server can do for the benchmark's client — node:http,
 * no authentication, no storage, no hashing. PutObject reads and discards the body (200 with an
 * ETag); GetObject answers from one Buffer in memory of the size the key was last put with, in a
 * single `res.end(buf)`; CreateBucket is a 200; ListObjectsV2 lists the keys put under the prefix,
 * 1,000 a page (enough for the benchmark's listing row). What any server, with this client on
 * this machine, cannot beat.
 *
 *   node --import tsx bench/s3/bare-server.ts <port>   (prints `listening <port>`)
 *
 * Not a server to use: it stores nothing, checks nothing.
 */
import http from 'node:http';

/** One body per size: GETs of different keys of a size share it (no bytes are stored). */
const bodies = new Map<number, Buffer>();
/** Key → size of its last PUT (what GET and the listing answer). */
const sizes = new Map<string, number>();
const ETAG = '"bare0000000000000000000000000000"';

const bodyOf = (size: number): Buffer => {
  let b = bodies.get(size);
  if (!b) bodies.set(size, (b = Buffer.alloc(size, 0x61)));
  return b;
};

const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function list(bucket: string, q: URLSearchParams): string {
  const prefix = q.get('prefix') ?? '';
  const after = q.get('continuation-token') ?? q.get('start-after') ?? '';
  const keys = [...sizes.keys()]
    .filter((k) => k.startsWith(`${bucket}/${prefix}`))
    .map((k) => k.slice(bucket.length + 1))
    .filter((k) => k > after)
    .sort();
  const page = keys.slice(0, 1000);
  const truncated = keys.length > page.length;
  const contents = page
    .map(
      (k) =>
        `<Contents><Key>${xmlEscape(k)}</Key><Size>${sizes.get(`${bucket}/${k}`)}</Size><ETag>${ETAG}</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified><StorageClass>STANDARD</StorageClass></Contents>`,
    )
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Name>${bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>1000</MaxKeys>` +
    `<IsTruncated>${truncated}</IsTruncated>${truncated ? `<NextContinuationToken>${xmlEscape(page.at(-1)!)}</NextContinuationToken>` : ''}${contents}</ListBucketResult>`
  );
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = decodeURIComponent(url.pathname.slice(1));
  const slash = path.indexOf('/');
  const bucket = slash < 0 ? path : path.slice(0, slash);
  const key = slash < 0 ? '' : path.slice(slash + 1);
  if (req.method === 'PUT') {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      if (key) sizes.set(`${bucket}/${key}`, n);
      res.writeHead(200, { etag: ETAG, 'content-length': 0 });
      res.end();
    });
    return;
  }
  req.resume();
  if (req.method === 'GET' && key) {
    const size = sizes.get(`${bucket}/${key}`);
    if (size === undefined) {
      const body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>';
      res.writeHead(404, { 'content-type': 'application/xml', 'content-length': body.length });
      return res.end(body);
    }
    const buf = bodyOf(size);
    res.writeHead(200, {
      etag: ETAG,
      'content-type': 'application/octet-stream',
      'content-length': buf.length,
      'last-modified': 'Thu, 01 Jan 2026 00:00:00 GMT',
    });
    return res.end(buf);
  }
  if (req.method === 'GET' && bucket) {
    const body = list(bucket, url.searchParams);
    res.writeHead(200, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
    });
    return res.end(body);
  }
  // Health checks, CreateBucket, anything else: an empty 200.
  res.writeHead(200, { 'content-length': 0 });
  res.end();
});

const port = Number(process.argv[2] ?? 0);
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
