import { fsyncDirFd } from './fd.js';

/**
 * Group commit of folder fsyncs: concurrent writers that renamed a file into the same folder share
 * one `fsync` of it. A caller needs an fsync that *starts after* its rename, so a caller arriving
 * while one is running waits for the next one, which every caller arriving meanwhile shares (at
 * most one running and one queued per folder).
 */
export class DirSyncs {
  private readonly folders = new Map<string, { running: Promise<void>; queued?: Promise<void> }>();

  constructor(private readonly fsyncDir: (dir: string) => Promise<void> = fsyncDirFd) {}

  /** Resolves once an fsync of `dir` that began after this call has completed. */
  sync(dir: string): Promise<void> {
    const folder = this.folders.get(dir);
    if (!folder) return this.start(dir);
    folder.queued ??= folder.running.then(
      () => this.start(dir),
      () => this.start(dir),
    );
    return folder.queued;
  }

  private start(dir: string): Promise<void> {
    const running = this.fsyncDir(dir);
    const folder = this.folders.get(dir);
    if (folder) {
      folder.running = running;
      folder.queued = undefined;
    } else this.folders.set(dir, { running });
    const done = () => {
      const now = this.folders.get(dir);
      if (now && now.running === running && now.queued === undefined) this.folders.delete(dir);
    };
    running.then(done, done);
    return running;
  }
}
