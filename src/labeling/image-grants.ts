import { parseS3Uri } from '../shared/s3-uri.js';
import type { LabelingContext } from './context.js';
import { ImageSigner, type ImageGrant } from './image-urls.js';
import type { Worker } from './model.js';

/** Mints and checks the signed image URLs of tasks, review pages and instruction examples. */
export class ImageGrants {
  private signer: ImageSigner | undefined;
  private readonly ttlMs: number;

  constructor(private readonly ctx: LabelingContext) {
    this.ttlMs = ctx.deps.imageUrlTtlMs ?? 300_000;
  }

  /** A token for `worker` naming an object's image (`j` job key, `o` object id) or an S3 URI. */
  async token(worker: Worker, what: { j: string; o: number } | { s: string }): Promise<string> {
    this.signer ??= await ImageSigner.open(this.ctx.deps.db);
    return this.signer.sign({ ...what, u: worker.id, e: this.ctx.now() + this.ttlMs });
  }

  /**
   * The image a signed token names, for the user it was minted for; undefined when the token is
   * forged, expired, someone else's, or the image is gone.
   */
  async resolve(
    worker: Worker,
    token: string,
  ): Promise<{ bucket: string; key: string } | undefined> {
    this.signer ??= await ImageSigner.open(this.ctx.deps.db);
    const grant: ImageGrant | undefined = this.signer.verify(token, this.ctx.now());
    if (!grant || grant.u !== worker.id) return undefined;
    if (grant.s) return parseS3UriSafe(grant.s);
    if (grant.j === undefined || grant.o === undefined) return undefined;
    const obj = await this.ctx.repo.findObject(grant.j, grant.o);
    return obj?.source_ref ? parseS3UriSafe(obj.source_ref) : undefined;
  }
}

function parseS3UriSafe(uri: string): { bucket: string; key: string } | undefined {
  try {
    return parseS3Uri(uri);
  } catch {
    return undefined;
  }
}
